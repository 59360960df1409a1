// The caller side (Call, Client) and the shard threads.
#include <fmt/core.h>
#include <signal.h>

#include <algorithm>
#include <charconv>

#include "base/http_client/tls_client.h"
#include "base/http_text.h"
#include "base/log.h"
#include "base/uv_handle.h"
#include "bindings/fetch/outbound/internal.h"

namespace edge::bindings::outbound {
namespace {

constexpr size_t kReadChunk = 64 * 1024;  // decoded bytes per Read of an encoded body

Status ClientError(std::string message) {
  return Status(ErrorCode::kTypeError, std::move(message));
}

// Calls a copy: the callback may clear (destroy) the original.
template <typename F>
void SafeCall(const F& original, const char* what) {
  if (!original) return;
  F fn = original;
  try {
    fn();
  } catch (const std::exception& e) {
    Log(LogLevel::kError, "outbound: {} threw: {}", what, e.what());
  } catch (...) {
    Log(LogLevel::kError, "outbound: {} threw", what);
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// UvTimer

UvTimer::UvTimer(uv_loop_t* loop) : handle_(new Handle) {
  uv_timer_init(loop, &handle_->timer);
  handle_->timer.data = handle_;
}

UvTimer::~UvTimer() {
  uv_timer_stop(&handle_->timer);
  handle_->callback = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_->timer),
           [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
}

void UvTimer::Start(uint64_t ms, std::function<void()> callback, uint64_t repeat_ms) {
  handle_->callback = std::move(callback);
  uv_timer_start(
      &handle_->timer,
      [](uv_timer_t* t) {
        auto* h = static_cast<Handle*>(t->data);
        // The callback may destroy the owner (and so this handle's callback):
        // run a copy.
        std::function<void()> callback = h->callback;
        if (callback) callback();
      },
      ms, repeat_ms);
}

void UvTimer::Stop() { uv_timer_stop(&handle_->timer); }
bool UvTimer::active() const {
  return uv_is_active(reinterpret_cast<const uv_handle_t*>(&handle_->timer)) != 0;
}
void UvTimer::Unref() { uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->timer)); }

// ---------------------------------------------------------------------------
// Exchange

void Exchange::Post(Event event) {
  std::lock_guard<std::mutex> lock(mu);
  if (async == nullptr) return;  // the caller is gone or no longer listens
  events.push_back(std::move(event));
  uv_async_send(async);
}

// ---------------------------------------------------------------------------
// Transaction

Transaction::Transaction(RequestHead head, BodyKind kind, std::string bytes,
                         std::shared_ptr<Exchange> exchange)
    : head_(std::move(head)),
      kind_(kind),
      bytes_(std::move(bytes)),
      exchange_(std::move(exchange)) {
  if (kind_ == BodyKind::kStream) {
    for (const auto& [name, value] : head_.headers) {
      if (!base::EqualsIgnoreCase(name, "content-length")) continue;
      uint64_t length = 0;
      auto result = std::from_chars(value.data(), value.data() + value.size(), length);
      if (result.ec == std::errc() && result.ptr == value.data() + value.size() && !value.empty()) {
        upload_has_length_ = true;
        upload_length_ = length;
      }
    }
  }
}

std::string Transaction::OriginKey() const {
  return fmt::format("{}://{}:{}", head_.target.tls ? "https" : "http", head_.target.host,
                     head_.target.port);
}

// ---------------------------------------------------------------------------
// Call

Call::Call(uv_loop_t* loop, std::shared_ptr<Shard> shard, std::shared_ptr<Transaction> transaction,
           std::shared_ptr<Exchange> exchange, size_t upload_high_water, bool decode)
    : loop_(loop),
      shard_(std::move(shard)),
      transaction_(std::move(transaction)),
      exchange_(std::move(exchange)),
      upload_high_water_(upload_high_water),
      decode_(decode) {}

Call::~Call() {
  if (!finished_) Cancel();
  Close();
}

void Call::Open() {
  async_ = new uv_async_t;
  uv_async_init(loop_, async_, [](uv_async_t* handle) {
    if (handle->data != nullptr) static_cast<Call*>(handle->data)->OnEvents();
  });
  async_->data = this;
  std::lock_guard<std::mutex> lock(exchange_->mu);
  exchange_->async = async_;
}

void Call::Close() {
  if (async_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(exchange_->mu);
    exchange_->async = nullptr;
    exchange_->events.clear();
  }
  async_->data = nullptr;
  base::CloseAndDelete(async_);
  async_ = nullptr;
}

void Call::WakeReader() {
  if (!wants_read_) return;
  wants_read_ = false;
  SafeCall(on_readable, "on_readable");
}

void Call::WakeWriter() {
  if (!wants_drain_) return;
  wants_drain_ = false;
  SafeCall(on_drain, "on_drain");
}

void Call::OnEvents() {
  std::vector<Event> events;
  {
    std::lock_guard<std::mutex> lock(exchange_->mu);
    events.swap(exchange_->events);
  }
  std::shared_ptr<Call> self = shared_from_this();  // callbacks may drop the last owner
  for (Event& event : events) {
    if (finished_) return;
    switch (event.type) {
      case Event::Type::kHead: {
        head_delivered_ = true;
        if (!event.head.has_body) {
          body_ended_ = true;
        } else if (decode_) {
          for (const auto& [name, value] : event.head.headers) {
            if (base::EqualsIgnoreCase(name, "content-encoding")) {
              decoder_ = BodyDecoder::ForContentEncoding(value);
              break;
            }
          }
        }
        auto callback = on_response;
        if (callback) callback(std::move(event.head));
        break;
      }
      case Event::Type::kData:
        body_.push_back(std::move(event.data));
        WakeReader();
        break;
      case Event::Type::kEnd:
        body_ended_ = true;
        upload_closed_ = true;
        Close();  // nothing more comes from the shard
        WakeReader();
        WakeWriter();
        break;
      case Event::Type::kError:
        upload_closed_ = true;
        Close();
        if (!head_delivered_) {
          finished_ = true;
          auto callback = on_response;
          if (callback) callback(std::move(event.status));
          return;
        }
        body_failed_ = true;
        body_error_ = std::move(event.status);
        WakeReader();
        WakeWriter();
        break;
      case Event::Type::kUploadDrained:
        upload_outstanding_ -= std::min(upload_outstanding_, event.bytes);
        if (upload_outstanding_ < upload_high_water_) WakeWriter();
        break;
      case Event::Type::kUploadClosed:
        upload_closed_ = true;
        WakeWriter();
        break;
    }
  }
}

bool Call::Write(std::string_view chunk) {
  if (upload_closed() || upload_ended_ || chunk.empty()) return false;
  upload_outstanding_ += chunk.size();
  auto transaction = transaction_;
  Shard* shard = shard_.get();
  shard_->Post([shard, transaction, data = std::string(chunk)]() mutable {
    shard->Upload(transaction, std::move(data), false);
  });
  if (upload_outstanding_ >= upload_high_water_) {
    wants_drain_ = true;
    return true;
  }
  return false;
}

void Call::EndBody() {
  if (upload_closed() || upload_ended_) return;
  upload_ended_ = true;
  auto transaction = transaction_;
  Shard* shard = shard_.get();
  shard_->Post([shard, transaction] { shard->Upload(transaction, {}, true); });
}

void Call::SendCredit(size_t bytes) {
  if (bytes == 0 || body_ended_ || body_failed_ || async_ == nullptr) return;
  auto transaction = transaction_;
  Shard* shard = shard_.get();
  shard_->Post([shard, transaction, bytes] { shard->Credit(transaction, bytes); });
}

Call::ReadResult Call::Read() {
  ReadResult result;
  if (finished_ && !head_delivered_) {
    result.kind = ReadResult::kError;
    result.error = ClientError("The request was cancelled.");
    return result;
  }
  for (;;) {
    if (body_.empty()) {
      if (decoder_ && (body_ended_ || body_failed_)) {
        // Output zlib still holds.
        size_t consumed = 0;
        Status status = decoder_->Decode({}, kReadChunk, &consumed, &result.data);
        if (!status.ok()) {
          finished_ = true;
          result.kind = ReadResult::kError;
          result.error = status;
          return result;
        }
        if (!result.data.empty()) {
          result.kind = ReadResult::kData;
          return result;
        }
      }
      if (body_failed_) {
        finished_ = true;
        result.kind = ReadResult::kError;
        result.error = body_error_;
        return result;
      }
      if (body_ended_) {
        finished_ = true;
        result.kind = ReadResult::kEnd;
        return result;
      }
      if (finished_) {  // cancelled
        result.kind = ReadResult::kError;
        result.error = ClientError("The request was cancelled.");
        return result;
      }
      wants_read_ = true;
      result.kind = ReadResult::kPending;
      return result;
    }
    std::string& front = body_.front();
    if (!decoder_) {
      result.kind = ReadResult::kData;
      if (body_front_offset_ == 0) {
        result.data = std::move(front);
      } else {
        result.data = front.substr(body_front_offset_);
      }
      body_.pop_front();
      body_front_offset_ = 0;
      SendCredit(result.data.size());
      return result;
    }
    std::string_view input(front);
    input.remove_prefix(body_front_offset_);
    size_t consumed = 0;
    Status status = decoder_->Decode(input, kReadChunk, &consumed, &result.data);
    if (!status.ok()) {
      finished_ = true;
      result.kind = ReadResult::kError;
      result.error = status;
      Cancel();
      finished_ = true;
      return result;
    }
    body_front_offset_ += consumed;
    SendCredit(consumed);
    if (body_front_offset_ == front.size()) {
      body_.pop_front();
      body_front_offset_ = 0;
    } else if (consumed == 0 && result.data.empty()) {
      // The decoder wants more bytes than this chunk holds: join it with the
      // next one, or wait for one.
      if (body_.size() >= 2) {
        std::string joined = front.substr(body_front_offset_) + body_[1];
        body_.pop_front();
        body_.front() = std::move(joined);
        body_front_offset_ = 0;
        continue;
      }
      if (!body_ended_ && !body_failed_) {
        wants_read_ = true;
        result.kind = ReadResult::kPending;
        return result;
      }
      body_.clear();  // a truncated header at the very end: nothing to decode
      continue;
    }
    if (!result.data.empty()) {
      result.kind = ReadResult::kData;
      return result;
    }
  }
}

void Call::Cancel() {
  if (finished_ && async_ == nullptr) return;
  bool was_finished = finished_;
  finished_ = true;
  on_response = nullptr;
  on_readable = nullptr;
  on_drain = nullptr;
  if (!was_finished && !(body_ended_ || body_failed_)) {
    auto transaction = transaction_;
    Shard* shard = shard_.get();
    shard_->Post([shard, transaction] { shard->Cancel(transaction); });
  }
  Close();
  body_.clear();
}

// ---------------------------------------------------------------------------
// Client

Client::Client(ClientOptions options)
    : options_(std::move(options)), stats_(std::make_shared<ClientStats>()) {
  // A write to a connection the origin closed must be an error, not the
  // end of the process (the gateway does the same for its side).
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    signal(SIGPIPE, SIG_IGN);
  }
  if (options_.threads < 1) options_.threads = 1;
  if (options_.max_connections_per_origin < 1) options_.max_connections_per_origin = 1;
  tls_ = std::make_shared<LazyTlsContext>();
  for (int i = 0; i < options_.threads; ++i) {
    auto shard = std::make_shared<Shard>(options_, stats_, tls_);
    shard->Start();
    shards_.push_back(std::move(shard));
  }
}

LazyTlsContext::~LazyTlsContext() {
  if (context_ != nullptr) SSL_CTX_free(context_);
}

SSL_CTX* LazyTlsContext::Get() {
  std::call_once(once_, [this] {
    auto context = base::NewClientTlsContext();
    if (context.ok()) {
      context_ = context.value();
      return;
    }
    error_ = context.status().message();
    Log(LogLevel::kError, "outbound: {}; https fetches fail", error_);
  });
  return context_;
}

SSL_CTX* Client::tls_context() const { return tls_->Get(); }

std::string Client::tls_error() const {
  tls_->Get();
  return tls_->error();
}

Client::~Client() {
  for (auto& shard : shards_) shard->Stop();
}

namespace {

bool ValidHost(std::string_view host) {
  if (host.empty()) return false;
  for (unsigned char c : host) {
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == '@' || c == '?' || c == '#') return false;
  }
  return true;
}

}  // namespace

StatusOr<std::shared_ptr<Call>> Client::Start(uv_loop_t* loop, RequestHead head, BodyKind kind,
                                              std::string bytes) {
  if (!ValidHost(head.target.host)) {
    return ClientError(fmt::format("Invalid host \"{}\"", head.target.host));
  }
  if (head.target.port == 0) return ClientError("Invalid port 0");
  if (head.target.path.empty() || head.target.path[0] != '/') {
    return ClientError(fmt::format("Invalid request target \"{}\"", head.target.path));
  }
  for (unsigned char c : head.target.path) {
    if (c <= 0x20 || c == 0x7f) {
      return ClientError("Invalid request target: it holds spaces or control characters");
    }
  }
  auto exchange = std::make_shared<Exchange>();
  auto transaction =
      std::make_shared<Transaction>(std::move(head), kind, std::move(bytes), exchange);
  auto head_bytes = SerializeRequestHead(*transaction, options_.decode_content_encoding);
  if (!head_bytes.ok()) return head_bytes.status();
  transaction->head_bytes_ = std::move(head_bytes).value();
  std::string key = transaction->OriginKey();
  auto& shard = shards_[std::hash<std::string>{}(key) % shards_.size()];
  std::shared_ptr<Call> call(new Call(loop, shard, transaction, exchange,
                                      options_.upload_high_water_bytes,
                                      options_.decode_content_encoding));
  Shard* raw = shard.get();
  call->Open();
  if (!shard->Post([raw, transaction] { raw->Submit(transaction); })) {
    call->finished_ = true;
    call->Close();
    return ClientError("The outbound client has shut down.");
  }
  stats_->requests.fetch_add(1, std::memory_order_relaxed);
  return call;
}

// ---------------------------------------------------------------------------
// Shard

Shard::Shard(const ClientOptions& options, std::shared_ptr<ClientStats> stats,
             std::shared_ptr<LazyTlsContext> tls)
    : options_(options), stats_(std::move(stats)), tls_(std::move(tls)) {
  // The bounds are the client's; each shard holds its part of them.
  const size_t shards = static_cast<size_t>(std::max(1, options_.threads));
  if (options_.max_requests_per_tenant > 0) {
    requests_per_tenant_ = std::max<size_t>(1, options_.max_requests_per_tenant / shards);
  }
  max_open_ = std::max<size_t>(1, options_.max_connections / shards);
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &async_,
                [](uv_async_t* handle) { static_cast<Shard*>(handle->data)->OnAsync(); });
  async_.data = this;
}

Shard::~Shard() {
  Stop();
  uv_loop_close(&loop_);
}

void Shard::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Shard::Run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  pools_.clear();
  dead_pools_.clear();
  // Connections and timers closed by the pools' destructors.
  uv_run(&loop_, UV_RUN_DEFAULT);
}

bool Shard::Post(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return false;
  tasks_.push_back(std::move(task));
  uv_async_send(&async_);
  return true;
}

void Shard::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      // Already stopped (or stopping): only the join is left.
    } else {
      closed_ = true;
      tasks_.push_back([this] {
        stopping_ = true;
        Status status = ClientError("The outbound client shut down.");
        FailHeld(status);
        for (auto& [key, pool] : pools_) pool->CloseAll(status);
        uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
      });
      uv_async_send(&async_);
    }
  }
  if (thread_.joinable()) thread_.join();
}

void Shard::OnAsync() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) {
    try {
      task();
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "outbound: a task threw: {}", e.what());
    } catch (...) {
      Log(LogLevel::kError, "outbound: a task threw");
    }
  }
  AdmitHeld();
  KickStarved();
  dead_pools_.clear();
}

void Shard::Submit(std::shared_ptr<Transaction> transaction) {
  if (transaction->state_ != Transaction::State::kNew) return;
  if (stopping_) {
    transaction->state_ = Transaction::State::kDone;
    transaction->exchange_->Post(
        {Event::Type::kError, {}, {}, ClientError("The outbound client shut down.")});
    return;
  }
  Transaction* raw = transaction.get();
  if (options_.response_header_timeout_ms > 0) {
    raw->header_timer_ = std::make_unique<UvTimer>(&loop_);
  }
  ArmHeaderTimer(raw);
  if (requests_per_tenant_ > 0) {
    TenantLoad& load = tenant_loads_[raw->head_.tenant];
    if (load.admitted >= requests_per_tenant_ || !load.held.empty()) {
      raw->state_ = Transaction::State::kHeld;
      raw->held_at_ = load.held.insert(load.held.end(), std::move(transaction));
      stats_->tenant_held.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    ++load.admitted;
    raw->admitted_ = true;
  }
  SendToPool(std::move(transaction));
}

void Shard::SendToPool(std::shared_ptr<Transaction> transaction) {
  std::string key = transaction->OriginKey();
  auto it = pools_.find(key);
  if (it == pools_.end()) {
    it = pools_.emplace(key, std::make_unique<Pool>(this, key, transaction->head_.target)).first;
  }
  it->second->Submit(std::move(transaction));
}

void Shard::LeaveTenant(const std::string& tenant) {
  auto it = tenant_loads_.find(tenant);
  if (it == tenant_loads_.end()) return;
  TenantLoad& load = it->second;
  if (load.admitted > 0) --load.admitted;
  if (!load.held.empty()) {
    // Not from here: Finish runs inside pools and connections.
    admit_next_.push_back(tenant);
    if (!stopping_) uv_async_send(&async_);
  } else if (load.admitted == 0) {
    tenant_loads_.erase(it);
  }
}

void Shard::AdmitHeld() {
  std::vector<std::string> tenants;
  tenants.swap(admit_next_);
  for (const std::string& tenant : tenants) {
    // Looked up again each time: a request sent to its pool can finish at
    // once, and its tenant's load with it.
    for (;;) {
      auto it = tenant_loads_.find(tenant);
      if (it == tenant_loads_.end()) break;
      TenantLoad& load = it->second;
      if (stopping_ || load.admitted >= requests_per_tenant_ || load.held.empty()) {
        if (load.admitted == 0 && load.held.empty()) tenant_loads_.erase(it);
        break;
      }
      std::shared_ptr<Transaction> next = std::move(load.held.front());
      load.held.pop_front();
      next->state_ = Transaction::State::kNew;
      next->admitted_ = true;
      ++load.admitted;
      SendToPool(std::move(next));
    }
  }
}

void Shard::FailHeld(const Status& status) {
  std::vector<std::shared_ptr<Transaction>> held;
  for (auto& [tenant, load] : tenant_loads_) {
    for (auto& transaction : load.held) held.push_back(transaction);
  }
  for (auto& transaction : held) Finish(transaction.get(), status);
}

bool Shard::ReserveConnection(Pool* pool) {
  if (open_ >= max_open_ && !idle_connections_.empty()) {
    stats_->idle_evicted.fetch_add(1, std::memory_order_relaxed);
    // Closing takes it out of the list and of the count (ConnectionGone).
    idle_connections_.front()->Close(Status::Ok());
  }
  if (open_ >= max_open_) {
    if (std::find(starved_.begin(), starved_.end(), pool->key()) == starved_.end()) {
      starved_.push_back(pool->key());
    }
    return false;
  }
  ++open_;
  return true;
}

void Shard::ConnectionGone() {
  if (open_ > 0) --open_;
  ScheduleKick();
}

void Shard::ScheduleKick() {
  if (!starved_.empty() && !kick_scheduled_ && !stopping_) {
    kick_scheduled_ = true;
    uv_async_send(&async_);
  }
}

void Shard::KickStarved() {
  kick_scheduled_ = false;
  // Each waiting pool in turn while there is room (or an idle connection to
  // close for it); one that cannot get a connection puts itself back at the
  // end.
  for (size_t n = starved_.size();
       n > 0 && (open_ < max_open_ || !idle_connections_.empty()) && !stopping_; --n) {
    std::string key = std::move(starved_.front());
    starved_.pop_front();
    auto it = pools_.find(key);
    if (it != pools_.end()) it->second->Kick();
  }
}

void Shard::MarkIdle(Connection* connection) {
  MarkBusy(connection);
  connection->idle_at_ = idle_connections_.insert(idle_connections_.end(), connection);
  connection->in_idle_list_ = true;
  // A pool waiting at the bound can have it (closed to make room), unless
  // its own pool reuses it first.
  ScheduleKick();
}

void Shard::MarkBusy(Connection* connection) {
  if (!connection->in_idle_list_) return;
  idle_connections_.erase(connection->idle_at_);
  connection->in_idle_list_ = false;
}

void Shard::ArmHeaderTimer(Transaction* transaction) {
  if (!transaction->header_timer_ || transaction->head_received_) return;
  uint64_t ms = options_.response_header_timeout_ms;
  std::weak_ptr<Transaction> weak = transaction->shared_from_this();
  transaction->header_timer_->Start(ms, [this, weak, ms] {
    std::shared_ptr<Transaction> t = weak.lock();
    if (!t || t->state_ == Transaction::State::kDone) return;
    Status status = ClientError(
        t->state_ == Transaction::State::kHeld
            ? fmt::format("The request to {} waited {} ms behind {} other requests of the same "
                          "account without being sent (response header timeout; see "
                          "outbound_requests_per_account).",
                          t->OriginKey(), ms, requests_per_tenant_)
            : fmt::format("The origin {} did not send response headers within {} ms (response "
                          "header timeout).",
                          t->OriginKey(), ms));
    if (t->state_ == Transaction::State::kActive && t->connection_ != nullptr) {
      t->connection_->Close(status);  // fails the transaction
    } else {
      if (t->state_ == Transaction::State::kQueued && t->pool_ != nullptr)
        t->pool_->Remove(t.get());
      Finish(t.get(), status);
    }
  });
}

void Shard::Cancel(const std::shared_ptr<Transaction>& transaction) {
  Transaction* t = transaction.get();
  t->cancelled_ = true;
  switch (t->state_) {
    case Transaction::State::kNew:
      t->state_ = Transaction::State::kDone;
      return;
    case Transaction::State::kHeld:
      Finish(t, Status::Ok());
      return;
    case Transaction::State::kQueued:
      if (t->pool_ != nullptr) t->pool_->Remove(t);
      Finish(t, Status::Ok());
      return;
    case Transaction::State::kActive:
      if (t->connection_ != nullptr) {
        // Mid-request or mid-response: the connection cannot be reused.
        t->connection_->Close(ClientError("The request was cancelled."));
      } else {
        Finish(t, Status::Ok());
      }
      return;
    case Transaction::State::kDone:
      return;
  }
}

void Shard::Upload(const std::shared_ptr<Transaction>& transaction, std::string chunk, bool end) {
  Transaction* t = transaction.get();
  if (t->state_ == Transaction::State::kDone || t->upload_closed_ ||
      t->kind_ != BodyKind::kStream) {
    return;
  }
  if (!chunk.empty()) t->upload_queue_.push_back(std::move(chunk));
  if (end) t->upload_end_requested_ = true;
  PumpUpload(t);
}

void Shard::Credit(const std::shared_ptr<Transaction>& transaction, size_t bytes) {
  Transaction* t = transaction.get();
  t->outstanding_ -= std::min(t->outstanding_, bytes);
  if (t->state_ == Transaction::State::kActive && t->connection_ != nullptr &&
      t->outstanding_ < options_.response_window_bytes) {
    t->connection_->ResumeReading();
  }
}

void Shard::PumpUpload(Transaction* t) {
  if (t->state_ != Transaction::State::kActive || t->connection_ == nullptr || t->upload_closed_) {
    return;
  }
  Connection* connection = t->connection_;
  while (!t->upload_queue_.empty()) {
    std::string chunk = std::move(t->upload_queue_.front());
    t->upload_queue_.pop_front();
    size_t n = chunk.size();
    if (t->upload_has_length_) {
      if (t->upload_written_ + n > t->upload_length_) {
        connection->Close(ClientError(fmt::format(
            "The request body is longer than its Content-Length of {} bytes.", t->upload_length_)));
        return;
      }
      t->upload_written_ += n;
      connection->WriteBody(std::move(chunk), n, false);
    } else {
      t->upload_written_ += n;
      std::string framed;
      base::AppendChunk(framed, chunk);
      connection->WriteBody(std::move(framed), n, false);
    }
    if (connection->closed()) return;
  }
  if (t->upload_end_requested_) {
    t->upload_closed_ = true;
    if (t->upload_has_length_) {
      if (t->upload_written_ != t->upload_length_) {
        connection->Close(ClientError(fmt::format(
            "The request body ended after {} bytes, short of its Content-Length of {} bytes.",
            t->upload_written_, t->upload_length_)));
        return;
      }
      connection->WriteBody({}, 0, true);
    } else {
      connection->WriteBody(std::string(base::kLastChunk), 0, true);
    }
  }
}

void Shard::Finish(Transaction* t, const Status& status) {
  if (t->state_ == Transaction::State::kDone) return;
  // The tenant's FIFO may hold the last reference to a held transaction.
  std::shared_ptr<Transaction> keep = t->shared_from_this();
  if (t->state_ == Transaction::State::kHeld) {
    auto it = tenant_loads_.find(t->head_.tenant);
    if (it != tenant_loads_.end()) {
      it->second.held.erase(t->held_at_);
      if (it->second.admitted == 0 && it->second.held.empty()) tenant_loads_.erase(it);
    }
  }
  if (t->admitted_) {
    t->admitted_ = false;
    LeaveTenant(t->head_.tenant);
  }
  bool upload_open = t->kind_ == BodyKind::kStream && !t->upload_closed_;
  t->state_ = Transaction::State::kDone;
  t->header_timer_.reset();
  t->connection_ = nullptr;
  t->pool_ = nullptr;
  t->upload_queue_.clear();
  t->upload_closed_ = true;
  if (!status.ok()) {
    t->exchange_->Post({Event::Type::kError, {}, {}, status});
  } else if (upload_open) {
    t->exchange_->Post({Event::Type::kUploadClosed, {}, {}, {}});
  }
}

void Shard::MaybeDropPool(Pool* pool) {
  if (!pool->empty() || stopping_) return;
  auto it = pools_.find(pool->key());
  if (it == pools_.end() || it->second.get() != pool) return;
  // Freed after the current task: `pool` may be on the stack.
  dead_pools_.push_back(std::move(it->second));
  pools_.erase(it);
  uv_async_send(&async_);
}

}  // namespace edge::bindings::outbound
