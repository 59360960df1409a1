// One outbound TCP connection of `connect()` (cloudflare:sockets), on the
// loop of the isolate that opened it: DNS (uv_getaddrinfo), the node's
// outbound address policy on every resolved address, TCP, and TLS over
// memory BIOs with the same client context (CA store, verification) as
// fetch(). Knows nothing of V8: socket_natives.cc turns its callbacks into
// promise settlements.
//
// Flow control is the caller's: bytes are read from the socket only while
// a Read is pending (at most kChunkBytes per Read), so a peer that sends
// faster than the worker reads meets TCP backpressure; a Write completes
// once its bytes are on the socket, written kChunkBytes at a time from the
// caller's memory (encrypted a slice at a time under TLS), so a huge chunk
// costs no copy of itself. What it holds meanwhile (at most a chunk each
// way, plus OpenSSL's records) is charged to the worker's memory budget.
//
// Every callback runs from the loop, never from inside one of the methods
// below. After Close() none runs; the object frees itself once libuv is done
// with its handles and requests.
#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "bindings/fetch/outbound/address_policy.h"
#include "runtime/buffer_allocator.h"

namespace edge::bindings {

// What a host may hold (workerd's check): letters, digits, "-._:[]", at
// most 255 bytes (RFC 1035's longest name, longer than any address).
bool IsValidSocketHost(std::string_view host);

struct SocketTarget {
  std::string host;  // a name, an IPv4 address, or an IPv6 address in brackets
  uint16_t port = 0;
  bool tls = false;  // secureTransport "on": TLS from the start
  outbound::AddressPolicy policy = outbound::AddressPolicy::AllowAll();
  // The client context (bindings/fetch/outbound's), or null and why not.
  // Asked for only when a handshake begins, from the loop: making it loads
  // the CA store, which must not count as the worker's CPU time.
  std::function<SSL_CTX*(std::string* error)> tls_context;
  uint64_t connect_timeout_ms = 10'000;
  // The worker's memory budget: bytes the connection holds (a chunk read
  // and not yet handed over, TLS records not yet on the socket) count
  // against it while held. Null: not counted.
  std::shared_ptr<runtime::BufferAllocator> budget;
  // Whether a refused connection to port 80 or 443 suggests fetch() (as
  // Workers' connect() does); off for a WebSocket's own connection.
  bool suggest_fetch = true;
};

namespace outbound {
class Client;
}

// A target reached under the outbound client's rules: its address policy,
// connect timeout and TLS context (fetch()'s), the bytes held counted
// against `budget`.
SocketTarget TargetUnderClient(const std::shared_ptr<outbound::Client>& client, std::string host,
                               uint16_t port, bool tls,
                               std::shared_ptr<runtime::BufferAllocator> budget);

class SocketConnection {
 public:
  static constexpr size_t kChunkBytes = 64 * 1024;

  // Starts resolving and connecting. Never fails at once: a failure comes
  // through the callbacks.
  static SocketConnection* Open(uv_loop_t* loop, SocketTarget target);

  struct ReadResult {
    enum Kind { kData, kEnd, kError };
    Kind kind = kEnd;
    std::string data;
    Status error;
  };

  // Once the connection (or, after StartTls, the handshake) is up, or why it
  // is not. Replaces an earlier callback not called yet.
  void WhenOpen(std::function<void(const Status&)> done);
  bool open() const { return state_ == State::kOpen; }
  // The next bytes (at most kChunkBytes), the end of the peer's data, or an
  // error. One at a time; waits for the connection to open.
  void Read(std::function<void(ReadResult)> done);
  // Writes `length` bytes at `data`, which `owner` keeps alive until `done`
  // runs (or Close). One at a time; waits for the connection to open.
  void Write(std::shared_ptr<void> owner, const char* data, size_t length,
             std::function<void(const Status&)> done);
  // Half-closes: TLS close_notify, then the TCP write side (FIN). After the
  // pending write, if any.
  void Shutdown(std::function<void(const Status&)> done);
  // startTls(): a TLS handshake on the open connection, verifying `host`
  // (the caller has let the last plaintext write complete). A pending Read is dropped (its callback never
  // runs): what follows is the TLS stream's. WhenOpen then waits for the
  // handshake.
  void StartTls(std::string host);
  // Closes at once (pending writes are dropped); no callback runs after it.
  void Close();
  // Whether nothing more will happen (failed or closed).
  bool finished() const { return state_ == State::kFailed || state_ == State::kClosed; }

 private:
  // kUpgrading: startTls() asked, the handshake not begun yet.
  enum class State { kResolving, kConnecting, kUpgrading, kHandshaking, kOpen, kFailed, kClosed };
  struct WriteRequest;

  SocketConnection(uv_loop_t* loop, SocketTarget target);
  ~SocketConnection();
  SocketConnection(const SocketConnection&) = delete;
  SocketConnection& operator=(const SocketConnection&) = delete;

  void Resolve();
  void OnResolved(int status, addrinfo* result);
  void ConnectNext();
  void OnConnected(int status);
  void BeginTls(const std::string& host);
  void Handshake();
  void OnReady();
  void Fail(Status status);
  Status ConnectError(std::string detail) const;
  Status NetworkError(std::string detail) const;

  void StartReading();
  void StopReading();
  void OnRead(ssize_t nread, const uv_buf_t* buf);
  void TryRead();
  void Deliver(ReadResult result);

  void PumpWrite();
  void SendRaw(std::string copy, const char* data, size_t length);
  void FlushTls();
  void OnWriteDone(WriteRequest* request, int status);
  void MaybeCompleteWrite();
  void MaybeShutdown();

  // Runs `task` from the loop soon (every callback of the caller goes
  // through here, so none runs inside a method the caller called), unless
  // the connection was closed meanwhile.
  void Defer(std::function<void()> task);
  void RunDeferred();
  void CloseHandles();
  // Deletes this once closed and libuv holds nothing of it, unless one of
  // its callbacks is on the stack (then that callback's end does).
  void MaybeDestroy();
  struct Entry;

  uv_loop_t* loop_;
  SocketTarget target_;
  State state_ = State::kResolving;
  int depth_ = 0;
  int libuv_pending_ = 0;  // DNS, connect, writes, shutdown, handle closes
  bool closed_by_owner_ = false;

  uv_getaddrinfo_t dns_{};
  bool dns_pending_ = false;
  uv_timer_t* timer_ = nullptr;
  uv_timer_t* defer_timer_ = nullptr;
  std::vector<std::function<void()>> deferred_;
  uv_tcp_t* tcp_ = nullptr;
  uv_connect_t connect_req_{};
  std::vector<sockaddr_storage> addresses_;
  size_t next_address_ = 0;
  Status last_connect_error_;

  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;
  BIO* wbio_ = nullptr;
  std::string tls_host_;

  std::function<void(const Status&)> on_open_;
  std::function<void(ReadResult)> on_read_;
  bool reading_ = false;
  bool read_eof_ = false;
  std::string pending_plain_;  // read from the socket with no Read pending
  Status error_;

  std::shared_ptr<void> write_owner_;
  const char* write_data_ = nullptr;
  size_t write_length_ = 0;
  size_t write_offset_ = 0;
  bool writing_ = false;
  int writes_in_flight_ = 0;
  std::function<void(const Status&)> on_write_;
  std::function<void(const Status&)> on_shutdown_;
  bool shutdown_requested_ = false;
  bool tls_shutdown_sent_ = false;
  uv_shutdown_t shutdown_req_{};
};

}  // namespace edge::bindings
