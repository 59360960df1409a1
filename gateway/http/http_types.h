// The types shared by the HTTP/1.1 server and the code that answers its
// requests: the parsed request, the limits applied to input, and the writer a
// handler uses to send the response back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/response_sink.h"

namespace edge::gateway {

// Header fields in the order they were received (or are to be sent), names as written.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// ResponseWriter::OnDrain fires once BufferedBytes() is below this; a writer
// with this much or more buffered should wait for OnDrain before writing more.
inline constexpr size_t kWriterDrainThreshold = 64 * 1024;

// Limits applied to every request the server reads. A timeout of 0 disables it.
struct ServerLimits {
  size_t max_header_bytes = 128 * 1024;       // request line + header block; over -> 431, close
  size_t max_body_bytes = 100 * 1024 * 1024;  // declared or received; over -> 413, close
  uint64_t header_timeout_ms = 10000;  // first byte of a request to end of its headers -> 408
  uint64_t idle_timeout_ms = 60000;    // keep-alive connection with no request -> close
  // Dispatch a request with a body as soon as its headers are in, its body
  // arriving through HttpRequest::body_stream (the body limit still holds;
  // past it the body errors and the connection closes).
  bool stream_request_bodies = false;
};

// One complete request: the head as received and the whole body.
struct HttpRequest {
  std::string method;  // "GET"
  std::string target;  // request-target as sent: "/path?q"
  HeaderList headers;  // in order received, names as sent
  std::string body;    // whole body, chunked encoding removed
  // With ServerLimits::stream_request_bodies, set instead of `body` for a
  // request that has one: it may still be arriving.
  std::shared_ptr<runtime::RequestBodySource> body_stream;
  int http_major = 1, http_minor = 1;
  bool keep_alive = true;       // what the client asked for; the server may still close
  std::string remote_address;   // "127.0.0.1:54321", "[::1]:54321"
  bool tls = false;             // came over TLS (the URL scheme is https)
  std::string tls_server_name;  // the SNI name the client sent, as sent; "" when none
  // The claims of the bearer token a route's jwt policy verified (a JSON
  // object in UTF-8), for request.cf.auth.claims; "" when none. Set by the
  // gateway only, never from anything the client sent as such.
  std::string auth_claims_json;
};

// One per request. All methods must be called on the connection's loop thread.
// Safe to hold after the connection closed: calls then do nothing and Aborted()
// is true.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;

  // Sends the status line and headers. Content-Length is sent when
  // content_length has a value, else the body is chunked (HTTP/1.1) or
  // close-delimited (HTTP/1.0). For HEAD requests and null-body statuses (1xx,
  // 204, 304) no body bytes are written. Adds Date (unless given) and
  // Connection: close when the connection will close. Header names and values
  // are validated (no CR/LF/NUL or other control characters); invalid ones are
  // dropped with a log line, never sent. Content-Length, Transfer-Encoding,
  // Connection and Keep-Alive in `headers` are ignored: framing is the
  // server's job ("Connection: close" makes the connection close afterwards).
  // An empty reason means the standard phrase for the status.
  virtual void Start(int status, std::string_view reason, const HeaderList& headers,
                     std::optional<uint64_t> content_length) = 0;
  // Appends body bytes (copied). Bytes beyond a declared Content-Length are
  // dropped with a log line. Write before Start starts a 200 response.
  virtual void Write(std::string_view chunk) = 0;
  // Ends the response; the next pipelined request may start. Finish without
  // Start sends an empty 200. Finishing short of a declared Content-Length
  // closes the connection so the client sees the truncation.
  virtual void Finish() = 0;
  // Ends the response unfinished: what was written is flushed, then the
  // connection closes, so the client sees the body cut short (before Start it
  // gets no response at all). Aborted() is true afterwards; OnAbort callbacks
  // do not run (the caller knows).
  virtual void Abort() = 0;
  // True when the connection went away before Finish, or after Abort.
  virtual bool Aborted() const = 0;

  // Backpressure: bytes queued but not yet written to the socket, and a
  // one-shot callback when that drains below kWriterDrainThreshold (64 KiB;
  // called immediately if it already is). Not called if the connection dies
  // or the response finishes first.
  virtual size_t BufferedBytes() const = 0;
  virtual void OnDrain(std::function<void()> callback) = 0;
  // Called once if the connection goes away before Finish (for cancellation).
  // It runs from the loop, never from inside a call on this writer; when the
  // writer is already aborted it runs right away.
  virtual void OnAbort(std::function<void()> callback) = 0;
  // Answers a WebSocket handshake (RFC 6455: a GET with Upgrade: websocket,
  // Connection: upgrade, Sec-WebSocket-Version: 13 and a valid key) with
  // 101 Switching Protocols, Sec-WebSocket-Accept and `headers` (hop-by-hop
  // ones and Sec-WebSocket-Accept/-Extensions dropped: no extension is
  // negotiated), and turns the connection into the WebSocket returned.
  // The response is over then. Fails before Start on a request that was no
  // such handshake, or on a writer that is not a client connection.
  virtual StatusOr<std::shared_ptr<runtime::WebSocketChannel>> AcceptWebSocket(
      const HeaderList& /*headers*/) {
    return Status(ErrorCode::kTypeError, "This response cannot switch protocols");
  }
};

// Answers one request. Runs on the loop thread of the connection; it may answer
// right away or keep the writer and answer later from the same loop. Dropping
// the last reference to an unfinished writer answers 500 (or closes the
// connection if the response had started). Exceptions thrown by the handler are
// caught and logged, and the request gets a 500.
using RequestHandler =
    std::function<void(HttpRequest request, std::shared_ptr<ResponseWriter> writer)>;

}  // namespace edge::gateway
