// The HTTP request path, bytes -> llhttp -> HttpRequest -> the worker's
// FetchRequest: each input is sent over a real TCP connection to the
// gateway's HttpServer (on loopback, on this thread's loop) in pieces, and
// every request the server dispatches goes through ToFetchRequest as on a
// node. What is fuzzed is the server's code around llhttp (the callbacks
// that build the request and apply the limits, pipelining, the lenient-free
// framing, Expect, streamed bodies, error pages), not llhttp alone.
//
// Input: byte 0 picks the mode (bit 0: a server that streams request
// bodies; bits 1-3: the piece size, 1 to 64 bytes or all at once), the
// rest is what the client sends before closing its sending side.
//
// Checked: every dispatched request is within the server's limits (head and
// body sizes), its URL is absolute, a streamed body never exceeds its limit,
// and whatever the server sends starts with an HTTP/1.x status line.
#include <uv.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/log.h"
#include "fuzz/fuzz_check.h"
#include "gateway/host/worker_host.h"
#include "gateway/http/http_server.h"

namespace {

using edge::gateway::HttpRequest;
using edge::gateway::HttpServer;
using edge::gateway::ResponseWriter;
using edge::gateway::ServerLimits;

// Small limits, so that the fuzzer reaches them.
constexpr size_t kMaxHeaderBytes = 2048;
constexpr size_t kMaxBodyBytes = 4096;

ServerLimits Limits(bool stream) {
  ServerLimits limits;
  limits.max_header_bytes = kMaxHeaderBytes;
  limits.max_body_bytes = kMaxBodyBytes;
  // A request the client never completes ends when the client closes; these
  // only bound an iteration if something waits anyway.
  limits.header_timeout_ms = 2000;
  limits.idle_timeout_ms = 2000;
  limits.stream_request_bodies = stream;
  return limits;
}

// The target and header fields as received (the server counts more: line
// ends, separators, the request line's overhead).
size_t HeadBytes(const HttpRequest& request) {
  size_t bytes = request.target.size();
  for (const auto& [name, value] : request.headers) bytes += name.size() + value.size();
  return bytes;
}

// Answers like a worker that echoes the request: status 200, the method and
// the first header's value echoed back as headers (the writer must drop what
// is not a valid header value), the body's length as the body.
void Answer(const std::shared_ptr<ResponseWriter>& writer, const std::string& method,
            const std::string& echoed, size_t body_bytes) {
  std::string body = std::to_string(body_bytes);
  writer->Start(200, "", {{"x-method", method}, {"x-echo", echoed}}, body.size());
  writer->Write(body);
  writer->Finish();
}

void Handle(HttpRequest request, std::shared_ptr<ResponseWriter> writer) {
  FUZZ_CHECK(HeadBytes(request) <= kMaxHeaderBytes, "a request head over the limit was dispatched");
  FUZZ_CHECK(request.body.size() <= kMaxBodyBytes, "a request body over the limit was dispatched");
  std::string echoed = request.headers.empty() ? "" : request.headers.front().second;
  std::optional<edge::runtime::FetchRequest> fetch =
      edge::gateway::ToFetchRequest(request, "localhost", *writer);
  if (!fetch) {
    FUZZ_NOTE("dispatched, refused by ToFetchRequest");
    return;  // answered 400
  }
  FUZZ_NOTE("dispatched %s %s%s", fetch->method.c_str(), fetch->url.c_str(),
            fetch->body_source ? " (body streamed)" : "");
  FUZZ_CHECK(fetch->url.starts_with("http://") || fetch->url.starts_with("https://"),
             "a request URL that is not absolute");
  if (!fetch->body_source) {
    Answer(writer, fetch->method, echoed, fetch->body.size());
    return;
  }
  struct Progress {
    size_t bytes = 0;
  };
  auto progress = std::make_shared<Progress>();
  std::string method = fetch->method;
  edge::runtime::RequestBodySource::Reader reader;
  reader.on_data = [progress](std::string_view chunk) {
    progress->bytes += chunk.size();
    FUZZ_CHECK(progress->bytes <= kMaxBodyBytes, "a streamed body went past the limit");
  };
  reader.on_end = [writer, method, echoed, progress] {
    Answer(writer, method, echoed, progress->bytes);
  };
  reader.on_error = [writer](std::string_view) {
    if (!writer->Aborted()) writer->Abort();
  };
  fetch->body_source->Read(std::move(reader));
}

// One server of each kind, listening on loopback for the whole run.
struct Servers {
  uv_loop_t loop;
  std::unique_ptr<HttpServer> buffered, streamed;

  Servers() {
    edge::SetLogLevel(edge::LogLevel::kError);  // every refusal logs at info
    uv_loop_init(&loop);
    buffered = std::make_unique<HttpServer>(&loop, Limits(false), Handle);
    streamed = std::make_unique<HttpServer>(&loop, Limits(true), Handle);
    edge::Status a = buffered->Listen("127.0.0.1", 0, false);
    edge::Status b = streamed->Listen("127.0.0.1", 0, false);
    FUZZ_CHECK(a.ok() && b.ok(), "cannot listen on 127.0.0.1");
  }
};

Servers& TheServers() {
  static Servers* servers = new Servers();  // lives as long as the process
  return *servers;
}

// The client side of one input: connect, send the pieces, shut down the
// sending side, read until the server closes.
struct Client {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_shutdown_t shutdown;
  std::string_view input;
  size_t piece = 0;
  std::string output;
  bool closed = false;
  char buffer[16384];
};

void Close(Client* client) {
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&client->tcp))) return;
  uv_close(reinterpret_cast<uv_handle_t*>(&client->tcp),
           [](uv_handle_t* handle) { static_cast<Client*>(handle->data)->closed = true; });
}

void Run(Servers& servers, int port, std::string_view input, size_t piece) {
  Client client;
  client.input = input;
  client.piece = piece;
  uv_tcp_init(&servers.loop, &client.tcp);
  client.tcp.data = &client;
  sockaddr_in address{};
  uv_ip4_addr("127.0.0.1", port, &address);
  bool connected = false;
  client.connect.data = &connected;
  int r = uv_tcp_connect(&client.connect, &client.tcp, reinterpret_cast<sockaddr*>(&address),
                         [](uv_connect_t* request, int status) {
                           *static_cast<bool*>(request->data) = status == 0;
                           if (status != 0) Close(static_cast<Client*>(request->handle->data));
                         });
  FUZZ_CHECK(r == 0, "uv_tcp_connect failed");
  while (!connected && !client.closed) uv_run(&servers.loop, UV_RUN_ONCE);
  FUZZ_CHECK(connected, "cannot connect to the server");

  uv_stream_t* stream = reinterpret_cast<uv_stream_t*>(&client.tcp);
  uv_read_start(
      stream,
      [](uv_handle_t* handle, size_t, uv_buf_t* buf) {
        Client* c = static_cast<Client*>(handle->data);
        *buf = uv_buf_init(c->buffer, sizeof c->buffer);
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        Client* c = static_cast<Client*>(s->data);
        if (nread > 0) c->output.append(buf->base, static_cast<size_t>(nread));
        if (nread < 0) Close(c);
      });
  // The pieces, each written and given to the server before the next, so
  // that the parser sees the input cut at these points.
  size_t offset = 0;
  while (offset < input.size() && !client.closed) {
    size_t n = std::min(piece, input.size() - offset);
    uv_buf_t buf = uv_buf_init(const_cast<char*>(input.data() + offset), static_cast<unsigned>(n));
    int written = uv_try_write(stream, &buf, 1);
    if (written == UV_EAGAIN) {
      uv_run(&servers.loop, UV_RUN_NOWAIT);
      continue;
    }
    if (written < 0) break;  // the server closed the connection
    offset += static_cast<size_t>(written);
    uv_run(&servers.loop, UV_RUN_NOWAIT);
    uv_run(&servers.loop, UV_RUN_NOWAIT);
  }
  if (!client.closed) {
    uv_shutdown(&client.shutdown, stream, [](uv_shutdown_t*, int) {});
  }
  while (!client.closed) uv_run(&servers.loop, UV_RUN_ONCE);
  // What the server still has to close (its side of the connection) goes now.
  uv_run(&servers.loop, UV_RUN_NOWAIT);

  FUZZ_NOTE("answered: %s", client.output.substr(0, client.output.find('\r')).c_str());
  if (!client.output.empty()) {
    FUZZ_CHECK(client.output.starts_with("HTTP/1.1 ") || client.output.starts_with("HTTP/1.0 "),
               "the server sent something that is not an HTTP/1.x response");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Servers& servers = TheServers();
  bool stream = (data[0] & 1) != 0;
  unsigned piece_bits = (data[0] >> 1) & 7;
  size_t piece = piece_bits == 7 ? SIZE_MAX : (size_t{1} << piece_bits);  // 1..64, or all
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Run(servers, (stream ? servers.streamed : servers.buffered)->port(), input, piece);
  return 0;
}
