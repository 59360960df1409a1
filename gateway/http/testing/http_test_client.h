// Test helpers for code behind the gateway's HTTP server: a libuv loop on a
// thread of its own (the server side runs there, as in production), and a
// blocking POSIX-socket client (plain or TLS) on the test's thread that
// reads responses byte for byte, so tests see exactly what went on the wire.
#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/http/http_types.h"

namespace edge::gateway::testing {

// A libuv loop running on its own thread until Stop (or destruction).
class LoopThread {
 public:
  LoopThread();
  ~LoopThread();
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  uv_loop_t* loop() { return &loop_; }
  // True on the loop's thread.
  bool OnLoopThread() const { return std::this_thread::get_id() == thread_.get_id(); }

  // Runs `fn` on the loop's thread (any thread may post; tasks run in order).
  void Post(std::function<void()> fn);

  // Runs `fn` on the loop thread and waits for its result.
  template <typename F>
  auto Call(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto future = task.get_future();
    Post([&task] { task(); });
    return future.get();
  }

  // Ends the loop. Every handle but ours must be closed or closing by now;
  // any other is reported and closed so the test fails instead of hanging.
  void Stop();

 private:
  void RunTasks();

  uv_loop_t loop_;
  uv_async_t async_;
  std::thread thread_;
  std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;
};

// Runs `fn` on `loop` every `ms` milliseconds, the first time after `ms`,
// until it returns false (call on the loop thread).
void RunEvery(uv_loop_t* loop, uint64_t ms, std::function<bool()> fn);

// Polls `condition` for up to ten seconds; true once it holds. For waiting
// on another thread's progress, never for measuring it.
template <typename F>
bool Eventually(F condition) {
  for (int i = 0; i < 1000; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

std::string AsciiLower(std::string text);

// One response as the client read it.
struct Response {
  int status = 0;
  std::string head;  // status line and headers, as received
  HeaderList headers;
  std::string body;
  bool chunked = false;

  bool Has(const std::string& name) const;
  // The first value of `name` (case-insensitive), or "".
  std::string Header(const std::string& name) const;
};

// What a TLS client offers. max_version 0: OpenSSL's default range.
struct TlsClientOptions {
  std::string server_name;  // SNI; "" sends none
  int max_version = 0;      // e.g. TLS1_1_VERSION
  std::vector<std::string> alpn;
};

// Everything on this thread's OpenSSL error queue, which it empties.
std::string TakeOpenSslErrors();

// A blocking client connection to 127.0.0.1:<port>, with ten-second
// socket timeouts so a server that never answers fails the test.
class Client {
 public:
  explicit Client(int port);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  // Closes with a reset (RST) instead of a FIN.
  void Reset();
  void Close();

  // Makes this a TLS connection: a blocking handshake, after which Send and
  // the reads go through TLS. Nothing is verified; tests look at the
  // certificate themselves. On failure, tls_error() says why.
  bool StartTls(const TlsClientOptions& options = {});
  const std::string& tls_error() const { return tls_error_; }
  // The server's certificate (owned by the connection).
  X509* PeerCertificate() const;
  std::string PeerCommonName() const;
  std::string Alpn() const;
  // The server ended TLS with close_notify.
  bool ReceivedCloseNotify() const;

  bool Send(std::string_view data);
  // Reads one response (no body for HEAD, 1xx, 204, 304).
  std::optional<Response> Read(bool head_request = false);
  // Sends `request` and reads one response (nullopt when either failed).
  std::optional<Response> Exchange(std::string_view request, bool head_request = false);
  // Reads until the server closes the connection. True on EOF or reset;
  // false on a timeout. Bytes seen on the way go to `rest`.
  bool WaitForClose(std::string* rest = nullptr);
  // Reads until `text` appeared in what was received.
  bool ReadUntil(std::string_view text);
  // What was received and not yet consumed by Read.
  const std::string& buffered() const { return buf_; }

 private:
  bool Fill();
  std::optional<std::string> ReadLine();
  bool ReadBytes(size_t n, std::string* out);

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
  SSL_CTX* ssl_ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string tls_error_;
};

// An HTTP/1.1 request's bytes: the request line, Host, `headers`, a
// Content-Length when there is a body, and the body.
std::string RequestText(std::string_view method, std::string_view target, std::string_view host,
                        std::string_view body = "", const HeaderList& headers = {});

// Connects, sends `request` and reads one response (nullopt when the
// connection failed or closed first).
std::optional<Response> RoundTrip(int port, std::string_view request);

}  // namespace edge::gateway::testing
