// The client's insides, shared by client.cc, pool.cc and connection.cc. Not
// for use outside bindings/fetch/outbound.
//
// Threads: everything here runs on a shard's loop thread, except Exchange
// (the mutex-guarded mailbox from a shard to a caller's loop) and
// Shard::Post (the mailbox the other way).
#pragma once

#include <llhttp.h>
#include <openssl/ssl.h>
#include <uv.h>

#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bindings/fetch/outbound/client.h"
#include "bindings/fetch/outbound/fair_queue.h"

namespace edge::bindings::outbound {

// A libuv timer owned by one object on one loop; closing is deferred to the
// loop, so the owner can go away at any time.
class UvTimer {
 public:
  explicit UvTimer(uv_loop_t* loop);
  ~UvTimer();
  UvTimer(const UvTimer&) = delete;
  UvTimer& operator=(const UvTimer&) = delete;
  void Start(uint64_t ms, std::function<void()> callback, uint64_t repeat_ms = 0);
  void Stop();
  bool active() const;
  void Unref();

 private:
  struct Handle {
    uv_timer_t timer;
    std::function<void()> callback;
  };
  Handle* handle_;
};

// What a shard tells a caller.
struct Event {
  enum class Type { kHead, kData, kEnd, kError, kUploadDrained, kUploadClosed };
  Type type;
  ResponseHead head;
  std::string data;
  Status status;
  size_t bytes = 0;
};

// The mailbox from a shard to one Call's loop.
struct Exchange {
  std::mutex mu;
  uv_async_t* async = nullptr;  // the caller's; null once it closed
  std::vector<Event> events;

  // From the shard thread.
  void Post(Event event);
};

class Connection;
class Pool;

// A request on the shard side.
class Transaction : public std::enable_shared_from_this<Transaction> {
 public:
  Transaction(RequestHead head, BodyKind kind, std::string bytes,
              std::shared_ptr<Exchange> exchange);

  // --- shard thread only from here on ---
  std::string OriginKey() const;
  // Whether the request can be sent again on another connection (its body
  // is not a stream that was already consumed).
  bool Replayable() const { return kind_ != BodyKind::kStream; }

  const RequestHead& head() const { return head_; }
  BodyKind kind() const { return kind_; }
  const std::string& bytes() const { return bytes_; }

  RequestHead head_;
  BodyKind kind_;
  std::string bytes_;
  std::string head_bytes_;  // the serialized request head
  std::shared_ptr<Exchange> exchange_;

  // kHeld: waiting behind its tenant's other requests (Shard, before any
  // pool); kQueued: in its origin's pool, waiting for a connection.
  enum class State { kNew, kHeld, kQueued, kActive, kDone };
  State state_ = State::kNew;
  // Counted in its tenant's load on the shard (max_requests_per_tenant),
  // from leaving the tenant's FIFO until Finish.
  bool admitted_ = false;
  std::list<std::shared_ptr<Transaction>>::iterator held_at_;  // while kHeld
  Pool* pool_ = nullptr;
  Connection* connection_ = nullptr;
  // Counted in its pool's FairQueue as a connection its tenant holds
  // (from Begin until it leaves the connection).
  bool holds_share_ = false;
  std::unique_ptr<UvTimer> header_timer_;
  int attempts_ = 0;

  // Upload (kStream) chunks not handed to a connection yet.
  std::deque<std::string> upload_queue_;
  bool upload_end_requested_ = false;
  bool upload_closed_ = false;
  // Content-Length given by the caller for a stream body, if any.
  bool upload_has_length_ = false;
  uint64_t upload_length_ = 0;
  uint64_t upload_written_ = 0;  // body bytes handed to the connection

  // Response.
  bool head_received_ = false;
  size_t outstanding_ = 0;  // body bytes posted to the caller, not yet read
  bool cancelled_ = false;
};

// A TCP (+TLS) connection to one origin, carrying one transaction at a time.
// Owned by its pool until it closes; then it frees itself once its handles
// and its DNS request are done.
class Connection {
 public:
  Connection(Shard* shard, Pool* pool);
  ~Connection();

  void Open();  // resolve, connect, handshake; tells the pool when ready or failed
  void Begin(std::shared_ptr<Transaction> transaction);
  // Writes request body bytes (kStream), already framed. `last`: the
  // request is complete once this is out.
  void WriteBody(std::string data, size_t body_bytes, bool last);
  void PauseReading();
  void ResumeReading();
  // Closes now; a transaction on it fails with `status` (a generic error
  // when `status` is ok).
  void Close(const Status& status);

  bool closed() const { return state_ == State::kClosed; }

  // Its place in the shard's list of idle connections, least recently used
  // first (Shard::MarkIdle/MarkBusy).
  bool in_idle_list_ = false;
  std::list<Connection*>::iterator idle_at_;

 private:
  enum class State { kResolving, kConnecting, kHandshaking, kIdle, kActive, kClosed };
  struct WriteRequest {
    uv_write_t req;
    std::string data;
    Connection* connection;
    size_t body_bytes;  // request body bytes in `data`, for the upload credit
  };

  void OnResolved(int status, addrinfo* result);
  void ConnectNext();
  // Connecting to the current address failed with the libuv `error`: kept
  // as the error to report, then the next address is tried.
  void ConnectFailed(int error);
  void OnConnected(int status);
  void StartTls();
  void Handshake();
  void OnReady();
  void StartIdleTimer();
  void StartReading();
  void OnRead(ssize_t nread, const uv_buf_t* buf);
  void OnEof();
  void Feed(const char* data, size_t length);  // plaintext into the parser
  void DrainTls();
  void FlushTls();
  void Send(std::string plaintext, size_t body_bytes);
  void SendRaw(std::string data, size_t body_bytes);
  void OnWriteDone(WriteRequest* request, int status);
  void FinishResponse(bool reusable);
  void Fail(const Status& status, bool retryable);
  void FailTransaction(const Status& status, bool retryable);
  void CloseTcp();
  void MaybeDestroy();
  Status TlsError(const char* what);
  std::string Describe() const;

  static int OnMessageBegin(llhttp_t* parser);
  static int OnStatus(llhttp_t* parser, const char* at, size_t length);
  static int OnHeaderField(llhttp_t* parser, const char* at, size_t length);
  static int OnHeaderValue(llhttp_t* parser, const char* at, size_t length);
  static int OnHeadersComplete(llhttp_t* parser);
  static int OnBody(llhttp_t* parser, const char* at, size_t length);
  static int OnMessageComplete(llhttp_t* parser);
  static const llhttp_settings_t* Settings();

  Shard* shard_;
  Pool* pool_;  // null once closed
  Target target_;
  State state_ = State::kResolving;
  uv_tcp_t* tcp_ = nullptr;
  int handles_closing_ = 0;
  bool dns_pending_ = false;
  bool connected_ = false;
  bool destroy_scheduled_ = false;
  uv_getaddrinfo_t dns_req_;
  uv_connect_t connect_req_;
  std::vector<sockaddr_storage> addresses_;
  size_t next_address_ = 0;
  Status last_connect_error_;
  std::string peer_;  // "1.2.3.4:443", for messages
  UvTimer timer_;     // connect timeout, then idle timeout

  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // network -> OpenSSL
  BIO* wbio_ = nullptr;  // OpenSSL -> network

  llhttp_t parser_;
  bool reading_ = false;
  bool paused_ = false;

  std::shared_ptr<Transaction> transaction_;
  int requests_ = 0;
  size_t writes_pending_ = 0;
  bool request_complete_ = false;  // every request byte was handed to the socket
  bool response_bytes_ = false;    // any byte of a response arrived for this request
  // The response being parsed.
  ResponseHead response_;
  bool informational_ = false;
  bool message_complete_ = false;
  bool keep_alive_ = false;
  bool stale_ = false;  // a 408 on a reused connection: retried elsewhere
  bool in_value_ = false;
  size_t header_bytes_ = 0;
  std::string parse_error_;
};

// The keep-alive pool of one origin: at most `max` connections, waiting
// requests in a FairQueue.
class Pool {
 public:
  Pool(Shard* shard, std::string key, const Target& target);
  ~Pool();

  void Submit(std::shared_ptr<Transaction> transaction, bool front = false);
  void Remove(Transaction* transaction);  // a queued transaction was cancelled
  // `transaction` left its connection (finished, failed, or sent again):
  // its tenant holds one connection fewer.
  void Release(Transaction* transaction);
  // From connections.
  void OnConnectionReady(Connection* connection);
  void OnConnectionIdle(Connection* connection);
  // The connection closed (and no longer counts). One that was still being
  // set up fails the first queued request with `status`, if not ok.
  void OnConnectionClosed(Connection* connection, bool was_connecting, const Status& status);
  bool empty() const { return connections_.empty() && queue_.empty(); }
  void CloseAll(const Status& status);
  // Hands out connections again: one may have become possible elsewhere
  // (the shard's bound on open connections made room).
  void Kick() { Dispatch(); }

  Shard* shard() const { return shard_; }
  const Target& target() const { return target_; }
  const std::string& key() const { return key_; }

 private:
  void Dispatch();

  Shard* shard_;
  std::string key_;
  Target target_;
  FairQueue queue_;
  std::list<std::unique_ptr<Connection>> connections_;
  std::list<Connection*> idle_;  // most recently used first
  size_t connecting_ = 0;
  bool dispatching_ = false;
  bool redispatch_ = false;
};

// The client TLS context, made by the first https connection of any shard:
// loading the system's CA certificates costs milliseconds of start-up that
// a node or `edge dev` whose workers never fetch over TLS should not pay.
class LazyTlsContext {
 public:
  LazyTlsContext() = default;
  ~LazyTlsContext();
  LazyTlsContext(const LazyTlsContext&) = delete;
  LazyTlsContext& operator=(const LazyTlsContext&) = delete;
  // Any thread. Null when it could not be made; error() says why.
  SSL_CTX* Get();
  const std::string& error() const { return error_; }

 private:
  std::once_flag once_;
  SSL_CTX* context_ = nullptr;
  std::string error_;
};

// One outbound thread: a loop, the pools of the origins hashed to it, and
// the mailbox callers post to.
class Shard : public std::enable_shared_from_this<Shard> {
 public:
  Shard(const ClientOptions& options, std::shared_ptr<ClientStats> stats,
        std::shared_ptr<LazyTlsContext> tls);
  ~Shard();
  void Start();
  void Stop();  // from the owning thread: fail everything, join

  // From any thread: runs `task` on the shard's loop. False (and `task` is
  // dropped) once the shard stopped.
  bool Post(std::function<void()> task);

  // Shard thread only.
  uv_loop_t* loop() { return &loop_; }
  const ClientOptions& options() const { return options_; }
  ClientStats& stats() { return *stats_; }
  // Null when TLS is unavailable (tls_error() says why).
  SSL_CTX* tls() const { return tls_->Get(); }
  const std::string& tls_error() const { return tls_->error(); }
  void Submit(std::shared_ptr<Transaction> transaction);
  void Cancel(const std::shared_ptr<Transaction>& transaction);
  void Upload(const std::shared_ptr<Transaction>& transaction, std::string chunk, bool end);
  void Credit(const std::shared_ptr<Transaction>& transaction, size_t bytes);
  // Ends a transaction: stops its timer, detaches it. Posts `status` to
  // the caller when not ok.
  void Finish(Transaction* transaction, const Status& status);
  void MaybeDropPool(Pool* pool);
  // (Re)starts the response header timeout of `transaction`.
  void ArmHeaderTimer(Transaction* transaction);
  // Hands queued upload chunks of `transaction` to its connection.
  void PumpUpload(Transaction* transaction);
  bool stopping() const { return stopping_; }

  // The bound on open connections (max_connections), for pools: whether
  // `pool` may open one more connection now (then it is counted until
  // ConnectionGone). Closes the least recently used idle connection of any
  // origin to make room; with none idle, false, and `pool` is kicked once a
  // connection closes.
  bool ReserveConnection(Pool* pool);
  void ConnectionGone();
  // `connection` became idle (most recently used) or left idle.
  void MarkIdle(Connection* connection);
  void MarkBusy(Connection* connection);

 private:
  void Run();
  void OnAsync();
  // Into its origin's pool (creating the pool).
  void SendToPool(std::shared_ptr<Transaction> transaction);
  // A request of `tenant` left the pools: the next one it holds back may go.
  void LeaveTenant(const std::string& tenant);
  // After each task: held requests whose tenant has room go to their pools;
  // pools that waited for the connection bound try again.
  void AdmitHeld();
  void KickStarved();
  void ScheduleKick();  // KickStarved after the current task, if a pool waits
  void FailHeld(const Status& status);

  // A tenant's requests on this shard (max_requests_per_tenant).
  struct TenantLoad {
    size_t admitted = 0;
    std::list<std::shared_ptr<Transaction>> held;  // FIFO
  };

  ClientOptions options_;
  std::shared_ptr<ClientStats> stats_;
  std::shared_ptr<LazyTlsContext> tls_;
  uv_loop_t loop_;
  uv_async_t async_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::function<void()>> tasks_;
  bool closed_ = false;  // guarded by mu_
  bool stopping_ = false;
  std::unordered_map<std::string, std::unique_ptr<Pool>> pools_;
  std::vector<std::unique_ptr<Pool>> dead_pools_;

  size_t requests_per_tenant_ = 0;  // this shard's part; 0: unbounded
  std::unordered_map<std::string, TenantLoad> tenant_loads_;
  std::vector<std::string> admit_next_;  // tenants whose load dropped

  size_t max_open_ = 0;  // this shard's part of max_connections
  size_t open_ = 0;      // counted by ReserveConnection
  std::list<Connection*> idle_connections_;  // least recently used first
  // Keys of pools that wanted a connection at the bound (a pool may be gone
  // by the time one closes, so not pointers).
  std::deque<std::string> starved_;
  bool kick_scheduled_ = false;
};

// Builds the request head bytes (request line, headers, blank line).
StatusOr<std::string> SerializeRequestHead(const Transaction& transaction, bool accept_encoding);

}  // namespace edge::bindings::outbound
