// The outbound HTTP/1.1 client behind fetch(): one per process, shared by
// every isolate on every loop thread.
//
// Sockets live on the client's own thread(s) ("shards"), each with its own
// libuv loop; an origin (scheme, host, port) always maps to the same shard,
// so its keep-alive pool and its connection bound are one object. A caller
// starts a request from its own loop thread and gets a Call whose events
// (response head, body bytes, errors, upload drain) arrive on that same
// loop. See README.md in this folder for why.
//
//   auto client = std::make_shared<outbound::Client>(outbound::ClientOptions{});
//   auto call = client->Start(loop, std::move(head), BodyKind::kNone, {});
//   call->on_response = [](StatusOr<ResponseHead> head) { ... };
//   call->on_readable = [&] { auto r = call->Read(); ... };
#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bindings/fetch/outbound/address_policy.h"
#include "bindings/fetch/outbound/body_decoder.h"
#include "base/status.h"

namespace edge::bindings::outbound {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ClientOptions {
  // Connections open at once to one origin (connecting, busy or idle).
  // Requests beyond it wait for a connection to free up, in one FIFO queue
  // per tenant, the tenants served in turn (fair_queue.h).
  size_t max_connections_per_origin = 32;
  // Connections of one origin a single tenant may hold at once; 0: half of
  // max_connections_per_origin (at least 1), so another tenant's fetch to
  // the same origin always finds a connection within one request's time.
  size_t max_connections_per_tenant_per_origin = 0;
  // Connections open at once, every origin together (each outbound thread
  // holds its part: this divided by `threads`). At the bound, the least
  // recently used idle connection of any origin is closed to make room;
  // with none idle, a new connection waits for one to close. Keeps a
  // tenant that fetches from thousands of origins (each leaving a
  // keep-alive connection) from using up the process's file descriptors.
  size_t max_connections = 4096;
  // Requests of one tenant in the pools at once, every origin together
  // (being sent, receiving, or waiting for a connection of their origin);
  // more wait in the tenant's own FIFO before any pool sees them, and their
  // response header timeout runs meanwhile. Each such request holds at most
  // one connection, so one tenant holds at most this many connections
  // besides idle ones (each outbound thread: this divided by `threads`).
  // 0: no bound.
  size_t max_requests_per_tenant = 256;
  // DNS resolution, TCP connect and TLS handshake of one new connection.
  uint64_t connect_timeout_ms = 10'000;
  // From the moment a request is handed to the client (or the last request
  // body byte was written) until its response head arrives; includes time
  // spent queued for a connection.
  uint64_t response_header_timeout_ms = 100'000;
  // An idle keep-alive connection is closed after this long unused.
  uint64_t idle_timeout_ms = 30'000;
  // Response body bytes read ahead of the worker: past this much unread,
  // the socket is not read until the worker pulls.
  size_t response_window_bytes = 128 * 1024;
  // Request body bytes queued before the writer is told to wait.
  size_t upload_high_water_bytes = 64 * 1024;
  // fetch() calls (and redirects followed) allowed per invocation.
  uint32_t subrequest_limit = 50;
  // Outbound threads; origins are spread over them by hash.
  int threads = 1;
  // Where new connections may go (checked on every resolved address).
  AddressPolicy address_policy = AddressPolicy::AllowAll();
  // Sends "Accept-Encoding: gzip, deflate" when the request has none, and
  // decodes gzip/deflate response bodies (the Content-Encoding header is
  // kept), as Workers does.
  bool decode_content_encoding = true;
  // Response head size limit (status line and headers).
  size_t max_response_header_bytes = 256 * 1024;
};

// Where a request goes: the parts of an http(s) URL that matter on the wire.
struct Target {
  bool tls = false;
  std::string host;  // as in the URL: "example.com", "10.0.0.1", "[::1]"
  uint16_t port = 0;
  std::string path;  // origin-form request target: "/a/b?c"
};

struct RequestHead {
  // Whose request it is (the worker's account on a node, else the worker;
  // "" for callers that are not one): the pool shares an origin's
  // connections fairly between tenants. Set by the runtime from its own
  // records, never from a value the worker chose.
  std::string tenant;
  std::string method = "GET";
  Target target;
  // Sent as given, minus Host (always the URL's), hop-by-hop fields and
  // framing (Content-Length is the client's, except for a stream body).
  HeaderList headers;
};

enum class BodyKind {
  kNone,
  kBytes,   // sent with a Content-Length
  kStream,  // written through Call::Write; chunked, or the caller's Content-Length
};

struct ResponseHead {
  int status = 0;
  std::string status_text;
  HeaderList headers;    // as received, in order
  bool has_body = true;  // false for HEAD, 204, 304
};

// Counters for tests and metrics (monotonic, all shards).
struct ClientStats {
  std::atomic<uint64_t> connections_opened{0};  // TCP connections established
  std::atomic<uint64_t> connections_reused{0};  // requests sent on a kept-alive connection
  std::atomic<uint64_t> requests{0};
  std::atomic<int64_t> connections_open{0};  // right now
  std::atomic<int64_t> max_connections_open{0};
  // Idle connections closed to make room under max_connections.
  std::atomic<uint64_t> idle_evicted{0};
  // Requests that waited behind their tenant's max_requests_per_tenant.
  std::atomic<uint64_t> tenant_held{0};
};

class Shard;
class Transaction;
class LazyTlsContext;
struct Exchange;

// One request as its caller sees it. Created and used on the caller's loop
// thread only; every callback runs there, from the loop (never from inside
// one of the methods below).
class Call : public std::enable_shared_from_this<Call> {
 public:
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // Set right after Client::Start. Once: the head, or why there is none.
  std::function<void(StatusOr<ResponseHead>)> on_response;
  // After Read() returned kPending: something can be read now.
  std::function<void()> on_readable;
  // After Write() returned true: the upload is under its mark (or closed).
  std::function<void()> on_drain;

  // Request body (BodyKind::kStream). Returns true when the caller should
  // wait for on_drain before writing more.
  bool Write(std::string_view chunk);
  void EndBody();
  // The request no longer takes body bytes: the response ended or failed
  // first, or the call was cancelled. Further writes are dropped.
  bool upload_closed() const { return upload_closed_ || finished_; }

  struct ReadResult {
    enum Kind { kData, kEnd, kPending, kError };
    Kind kind = kPending;
    std::string data;
    Status error;
  };
  // Response body: the next bytes (decoded), the end, an error, or kPending
  // (then on_readable fires when that changes).
  ReadResult Read();

  // Abandons the request: a connection in the middle of it is closed; no
  // callback runs afterwards.
  void Cancel();
  // The call is over (body fully read, failed or cancelled).
  bool finished() const { return finished_; }

 private:
  friend class Client;
  Call(uv_loop_t* loop, std::shared_ptr<Shard> shard, std::shared_ptr<Transaction> transaction,
       std::shared_ptr<Exchange> exchange, size_t upload_high_water, bool decode);
  void Open();
  void Close();
  void OnEvents();
  // on_readable (on_drain) once, when a Read (Write) is waiting for it.
  void WakeReader();
  void WakeWriter();
  void SendCredit(size_t bytes);

  uv_loop_t* loop_;
  std::shared_ptr<Shard> shard_;
  std::shared_ptr<Transaction> transaction_;
  std::shared_ptr<Exchange> exchange_;
  uv_async_t* async_ = nullptr;
  const size_t upload_high_water_;
  const bool decode_;

  bool head_delivered_ = false;
  bool finished_ = false;
  bool upload_closed_ = false;
  bool upload_ended_ = false;
  bool wants_drain_ = false;
  bool wants_read_ = false;
  size_t upload_outstanding_ = 0;

  std::deque<std::string> body_;  // as received (still encoded)
  size_t body_front_offset_ = 0;
  bool body_ended_ = false;
  bool body_failed_ = false;
  Status body_error_;
  std::unique_ptr<BodyDecoder> decoder_;
};

class Client {
 public:
  explicit Client(ClientOptions options = {});
  // Stops the outbound threads: open calls fail, connections close.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts a request from the thread that runs `loop`. `bytes` is the body
  // for BodyKind::kBytes. Fails at once (returns a Status) only on a request
  // that cannot be sent at all (bad target, invalid header).
  StatusOr<std::shared_ptr<Call>> Start(uv_loop_t* loop, RequestHead head, BodyKind kind,
                                        std::string bytes = {});

  const ClientOptions& options() const { return options_; }
  const ClientStats& stats() const { return *stats_; }
  // The TLS client context its connections use (made on first use; any
  // thread), for other outbound connections that must verify peers the
  // same way (cloudflare:sockets). Null when it could not be made:
  // tls_error() says why.
  SSL_CTX* tls_context() const;
  std::string tls_error() const;

 private:
  ClientOptions options_;
  std::shared_ptr<LazyTlsContext> tls_;
  std::shared_ptr<ClientStats> stats_;
  std::vector<std::shared_ptr<Shard>> shards_;
};

}  // namespace edge::bindings::outbound
