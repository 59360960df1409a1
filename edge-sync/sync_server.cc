#include "edge-sync/sync_server.h"

#include "base/base64.h"

#include <fmt/core.h>
#include <strings.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <utility>

#include "base/json_escape.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/uv_handle.h"
#include "edge-sync/epoch.h"
#include "edge-sync/snapshot.h"

namespace edge::sync {
namespace {

using gateway::HeaderList;
using gateway::HttpRequest;
using gateway::kWriterDrainThreshold;
using gateway::ResponseWriter;

// A blob is written in slices of this size, each once the last drained.
constexpr size_t kBlobSliceBytes = 64u << 10;

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void SendJson(ResponseWriter& writer, int status, const std::string& json,
              HeaderList headers = {}) {
  headers.emplace_back("Content-Type", "application/json");
  headers.emplace_back("Cache-Control", "no-store");
  std::string body = json + "\n";
  writer.Start(status, "", headers, body.size());
  writer.Write(body);
  writer.Finish();
}

void SendError(ResponseWriter& writer, int status, std::string_view message,
               HeaderList headers = {}) {
  SendJson(writer, status, fmt::format("{{\"error\":{}}}", base::JsonEscape(message)),
           std::move(headers));
}

std::string_view Header(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0) {
      return value;
    }
  }
  return {};
}

// The value of `name` in a query string ("a=1&after=5"), if present.
std::optional<std::string_view> QueryValue(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t end = query.find('&');
    std::string_view pair = query.substr(0, end);
    size_t equals = pair.find('=');
    if (pair.substr(0, equals) == name) {
      return equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    }
    if (end == std::string_view::npos) break;
    query.remove_prefix(end + 1);
  }
  return std::nullopt;
}

bool ParseSeq(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return error == std::errc() && end == text.data() + text.size();
}

// A printable excerpt of a header value from a peer, for the fleet view.
std::string Printable(std::string_view text, size_t max = 128) {
  std::string out;
  for (char c : text.substr(0, std::min(text.size(), max))) {
    auto byte = static_cast<unsigned char>(c);
    out.push_back(byte >= 0x20 && byte < 0x7f ? c : '?');
  }
  return out;
}

// `,"state":{...}`: the origin's signed state of the log (see
// SyncServerOptions), or "" when this server has none to give.
std::string StateMember(const SyncLog& log, const SyncServerOptions& options) {
  if (options.sign_state) {
    LogState state;
    auto epoch = log.GetMeta(kEpochMetaKey);
    if (epoch.ok() && *epoch && IsEpoch(**epoch)) state.epoch = **epoch;
    state.head = log.head();
    state.compacted_through = std::min(log.compacted_through(), state.head);
    state.time_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
    return ",\"state\":" + LogStateJson(state, options.sign_state(LogStateStatement(state)));
  }
  if (options.relayed_state) {
    std::string state = options.relayed_state();
    if (!state.empty()) return ",\"state\":" + state;
  }
  return "";
}

// `,"epoch":"<hex>"` for the log's epoch ("" when it has none): heartbeats,
// snapshot headers and 410 answers say which history their numbers count.
std::string EpochMember(const SyncLog& log) {
  auto epoch = log.GetMeta(kEpochMetaKey);
  if (!epoch.ok() || !*epoch || !IsEpoch(**epoch)) return "";
  return fmt::format(",\"epoch\":\"{}\"", **epoch);
}

}  // namespace

// The log's callback holds this, not the server: once the server is gone
// the callback does nothing.
struct SyncServer::Wakeup {
  std::mutex mutex;
  uv_async_t* async = nullptr;  // null once the server is closing; guarded by mutex
  std::function<void(uint64_t)> also_on_append;  // set before the log may call

  void Send() {
    std::lock_guard<std::mutex> lock(mutex);
    if (async != nullptr) uv_async_send(async);
  }
};

// One response in progress. Owned by SyncServer::streams_ until it ends.
class SyncServer::Stream : public std::enable_shared_from_this<Stream> {
 public:
  Stream(SyncServer& server, std::shared_ptr<ResponseWriter> writer)
      : server_(server), writer_(std::move(writer)) {}
  virtual ~Stream() = default;

  void Begin() {
    pump_timer_ = new uv_timer_t;
    uv_timer_init(server_.loop_, pump_timer_);
    pump_timer_->data = this;
    std::weak_ptr<Stream> weak = shared_from_this();
    writer_->OnAbort([weak] {
      if (auto self = weak.lock()) self->End(/*abort=*/false);
    });
    Start();
  }

  // New entries may be in the log.
  virtual void OnAppend() {}

  // Ends the response: finished normally, or cut short (`abort`) so the
  // reader sees it incomplete. Idempotent.
  void End(bool abort) {
    if (ended_) return;
    ended_ = true;
    auto self = shared_from_this();  // Forget drops the server's reference
    uv_timer_stop(pump_timer_);
    base::CloseAndDelete(pump_timer_);
    OnEnd();
    if (!writer_->Aborted()) {
      if (abort) {
        writer_->Abort();
      } else {
        writer_->Finish();
      }
    }
    server_.Forget(this);
  }

 protected:
  virtual void Start() = 0;
  // Writes more; called again by Schedule and WhenDrained.
  virtual void Pump() = 0;
  virtual void OnEnd() {}

  // Runs Pump on a later turn of the loop, so that one reader's catch-up
  // never keeps the loop from the others.
  void Schedule() {
    if (ended_) return;
    uv_timer_start(
        pump_timer_, [](uv_timer_t* timer) { static_cast<Stream*>(timer->data)->Pump(); }, 0, 0);
  }

  // True when the connection has enough queued: Pump runs again once it
  // drained (and `drained` first).
  bool WaitForDrain(std::function<void()> drained = nullptr) {
    if (writer_->BufferedBytes() < kWriterDrainThreshold) return false;
    std::weak_ptr<Stream> weak = shared_from_this();
    writer_->OnDrain([weak, drained = std::move(drained)] {
      auto self = weak.lock();
      if (!self || self->ended_) return;
      if (drained) drained();
      // OnDrain may call back from inside a Write: continue from the loop.
      self->Schedule();
    });
    return true;
  }

  SyncServer& server_;
  std::shared_ptr<ResponseWriter> writer_;
  uv_timer_t* pump_timer_ = nullptr;
  bool ended_ = false;
};

// GET /sync/log?after=N: the entries after N, then new ones as they come.
class SyncServer::LogStream : public SyncServer::Stream {
 public:
  LogStream(SyncServer& server, std::shared_ptr<ResponseWriter> writer, uint64_t after,
            ReaderInfo info)
      : Stream(server, std::move(writer)), cursor_(after), info_(std::move(info)) {}

  void OnAppend() override {
    // A stream waiting for a drain or already scheduled reads the new
    // entries when it gets there.
    if (state_ == State::kIdle) {
      state_ = State::kScheduled;
      Schedule();
    }
  }

 protected:
  void Start() override {
    reader_id_ = server_.AddReader(info_);
    writer_->Start(200, "",
                   {{"Content-Type", "application/x-ndjson"}, {"Cache-Control", "no-store"}},
                   std::nullopt);
    heartbeat_timer_ = new uv_timer_t;
    uv_timer_init(server_.loop_, heartbeat_timer_);
    heartbeat_timer_->data = this;
    // The first line says where the log is, so the reader knows at once.
    Heartbeat();
    state_ = State::kScheduled;
    Schedule();
  }

  void Pump() override {
    if (ended_) return;
    state_ = State::kRunning;
    if (WaitForDrain([this] { server_.UpdateReader(reader_id_, cursor_, /*contact=*/true); })) {
      state_ = State::kDraining;
      return;
    }
    SyncLog& log = server_.log_;
    // Entries at or below the compaction point may be gone: a reader
    // there would get a log with holes. End the body: it reconnects and
    // is told (410) to take a snapshot.
    if (cursor_ < log.compacted_through()) return EndCompacted();
    StatusOr<std::vector<SignedEntry>> batch =
        log.ReadAfter(cursor_, server_.options_.batch_entries);
    if (!batch.ok()) {
      Log(LogLevel::kError, "sync: reading the log after {} for {}: {}", cursor_, info_.remote,
          batch.status().message());
      return End(/*abort=*/true);
    }
    // Compacted while we read: the batch may have holes.
    if (cursor_ < log.compacted_through()) return EndCompacted();
    std::string out;
    for (const SignedEntry& entry : *batch) {
      if (entry.seq <= cursor_) continue;  // never backwards
      out += entry.Line();
      cursor_ = entry.seq;
    }
    if (!out.empty()) {
      writer_->Write(out);
      Wrote();
    }
    if (batch->size() < server_.options_.batch_entries) {
      // Caught up: the next append wakes us.
      state_ = State::kIdle;
      return;
    }
    state_ = State::kScheduled;
    Schedule();
  }

  void OnEnd() override {
    if (heartbeat_timer_ != nullptr) {
      uv_timer_stop(heartbeat_timer_);
      base::CloseAndDelete(heartbeat_timer_);
      heartbeat_timer_ = nullptr;
    }
    server_.RemoveReader(reader_id_);
  }

 private:
  enum class State { kScheduled, kRunning, kDraining, kIdle };

  void EndCompacted() {
    Log(LogLevel::kInfo,
        "sync: ending the stream of {} at {}: the log was compacted past it (it will take a "
        "snapshot)",
        info_.remote, cursor_);
    End(/*abort=*/false);
  }

  // After each write: the fleet view, and the heartbeat restarts its wait.
  void Wrote() {
    server_.UpdateReader(reader_id_, cursor_,
                         /*contact=*/writer_->BufferedBytes() < kWriterDrainThreshold);
    uint64_t period = std::max<uint64_t>(server_.options_.heartbeat_ms, 1);
    uv_timer_start(
        heartbeat_timer_,
        [](uv_timer_t* timer) { static_cast<LogStream*>(timer->data)->Heartbeat(); }, period,
        period);
  }

  void Heartbeat() {
    if (ended_) return;
    // A reader that has not taken what it was sent needs no more.
    if (writer_->BufferedBytes() >= kWriterDrainThreshold) return;
    writer_->Write(fmt::format("{{\"type\":\"heartbeat\",\"head\":{}{}{}}}\n", server_.log_.head(),
                               EpochMember(server_.log_),
                               StateMember(server_.log_, server_.options_)));
    Wrote();
  }

  uint64_t cursor_;
  ReaderInfo info_;
  uint64_t reader_id_ = 0;
  uv_timer_t* heartbeat_timer_ = nullptr;
  State state_ = State::kScheduled;
};

// GET /sync/snapshot: every surviving entry up to the head at the start
// (snapshot.h). Read and written a bounded batch at a time, each once the
// connection drained: a stream costs the node about one batch, whatever
// the size of the log.
class SyncServer::SnapshotStream : public SyncServer::Stream {
 public:
  SnapshotStream(SyncServer& server, std::shared_ptr<ResponseWriter> writer)
      : Stream(server, std::move(writer)),
        head_(server.log_.head()),
        compacted_through_(server.log_.compacted_through()),
        lines_(head_, compacted_through_) {}

 protected:
  void Start() override {
    ++server_.snapshot_streams_;
    writer_->Start(200, "",
                   {{"Content-Type", "application/x-ndjson"}, {"Cache-Control", "no-store"}},
                   std::nullopt);
    // The epoch is there to read, not to trust: a PoP believes only the
    // signed state of heartbeats and 410s.
    writer_->Write(lines_.Header(EpochMember(server_.log_)));
    Schedule();
  }

  void OnEnd() override { --server_.snapshot_streams_; }

  void Pump() override {
    if (ended_) return;
    if (WaitForDrain()) return;
    SyncLog& log = server_.log_;
    StatusOr<std::vector<SignedEntry>> batch =
        cursor_ < head_ ? log.ReadAfter(cursor_, server_.options_.batch_entries,
                                        server_.options_.snapshot_batch_bytes)
                        : StatusOr<std::vector<SignedEntry>>(std::vector<SignedEntry>());
    if (!batch.ok()) {
      Log(LogLevel::kError, "sync: reading the log for a snapshot: {}", batch.status().message());
      return End(/*abort=*/true);
    }
    // Compaction while the snapshot is read could drop an entry it has not
    // reached yet that supersedes one it already sent: cut it short.
    if (log.compacted_through() != compacted_through_) {
      Log(LogLevel::kInfo, "sync: a snapshot was cut short by a compaction; the reader retries");
      return End(/*abort=*/true);
    }
    std::string out;
    bool done = batch->empty();
    for (const SignedEntry& entry : *batch) {
      if (entry.seq <= cursor_) continue;
      if (entry.seq > head_) {
        done = true;
        break;
      }
      std::string line = entry.Line();
      lines_.Add(line);
      out += line;
      cursor_ = entry.seq;
    }
    if (cursor_ >= head_) done = true;
    // The origin vouches for exactly these lines at this head.
    if (done) out += lines_.End(server_.options_.sign_manifest);
    if (!out.empty()) writer_->Write(out);
    if (done) return End(/*abort=*/false);
    Schedule();
  }

 private:
  uint64_t head_;
  uint64_t compacted_through_;
  uint64_t cursor_ = 0;
  SnapshotLines lines_;
};

// GET /sync/blobs/<sha256>: written in slices, each once the last drained.
class SyncServer::BlobStream : public SyncServer::Stream {
 public:
  BlobStream(SyncServer& server, std::shared_ptr<ResponseWriter> writer, std::string bytes)
      : Stream(server, std::move(writer)), bytes_(std::move(bytes)) {}

 protected:
  void Start() override {
    writer_->Start(200, "",
                   {{"Content-Type", "application/octet-stream"},
                    {"Cache-Control", "public, max-age=31536000, immutable"}},
                   bytes_.size());
    Pump();
  }

  void Pump() override {
    if (ended_) return;
    if (WaitForDrain()) return;
    size_t size = std::min(kBlobSliceBytes, bytes_.size() - offset_);
    if (size > 0) writer_->Write(std::string_view(bytes_).substr(offset_, size));
    offset_ += size;
    if (offset_ >= bytes_.size()) return End(/*abort=*/false);
    Schedule();
  }

 private:
  std::string bytes_;
  size_t offset_ = 0;
};

SyncServer::SyncServer(uv_loop_t* loop, SyncLog& log, SyncServerOptions options)
    : loop_(loop), log_(log), options_(std::move(options)), wakeup_(std::make_shared<Wakeup>()) {
  if (options_.batch_entries == 0) options_.batch_entries = 1;
  wakeup_->also_on_append = options_.also_on_append;
  wakeup_->async = new uv_async_t;
  uv_async_init(loop_, wakeup_->async,
                [](uv_async_t* async) { static_cast<SyncServer*>(async->data)->OnWake(); });
  wakeup_->async->data = this;
  // Streams keep the loop alive while they last (their timers and
  // connections); the wake-up handle alone must not.
  uv_unref(reinterpret_cast<uv_handle_t*>(wakeup_->async));
  log_.SetOnAppend([wakeup = wakeup_](uint64_t head) {
    if (wakeup->also_on_append) wakeup->also_on_append(head);
    wakeup->Send();
  });
}

SyncServer::~SyncServer() {
  Close();
  log_.SetOnAppend(nullptr);
}

void SyncServer::Close() {
  closed_ = true;
  {
    std::lock_guard<std::mutex> lock(wakeup_->mutex);
    if (wakeup_->async != nullptr) {
      base::CloseAndDelete(wakeup_->async);
      wakeup_->async = nullptr;
    }
  }
  // End() removes each stream from streams_: take them out first.
  std::vector<std::shared_ptr<Stream>> streams;
  streams.reserve(streams_.size());
  for (auto& [pointer, stream] : streams_) streams.push_back(stream);
  for (auto& stream : streams) stream->End(/*abort=*/false);
  streams_.clear();
}

void SyncServer::NotifyAppend() { wakeup_->Send(); }

void SyncServer::OnWake() {
  std::vector<std::shared_ptr<Stream>> streams;
  streams.reserve(streams_.size());
  for (auto& [pointer, stream] : streams_) streams.push_back(stream);
  for (auto& stream : streams) stream->OnAppend();
}

bool SyncServer::Handle(const HttpRequest& request, std::shared_ptr<ResponseWriter> writer) {
  std::string_view target = request.target;
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  constexpr std::string_view kPrefix = "/sync/";
  if (path.substr(0, kPrefix.size()) != kPrefix) return false;
  if (closed_) {
    SendError(*writer, 503, "this node is shutting down");
    return true;
  }
  std::string_view rest = path.substr(kPrefix.size());
  const bool get = request.method == "GET";
  const bool head = request.method == "HEAD";
  if (rest == "log" || rest == "snapshot") {
    if (!get) {
      SendError(*writer, 405, fmt::format("{} takes GET", path), {{"Allow", "GET"}});
    } else if (rest == "log") {
      ServeLog(request, query, std::move(writer));
    } else {
      ServeSnapshot(std::move(writer));
    }
    return true;
  }
  constexpr std::string_view kBlobs = "blobs/";
  if (rest.substr(0, kBlobs.size()) == kBlobs) {
    if (!get && !head) {
      SendError(*writer, 405, "blobs take GET", {{"Allow", "GET, HEAD"}});
    } else {
      ServeBlob(rest.substr(kBlobs.size()), std::move(writer));
    }
    return true;
  }
  SendError(*writer, 404, fmt::format("no such endpoint: {}", Printable(path)));
  return true;
}

void SyncServer::ServeLog(const HttpRequest& request, std::string_view query,
                          std::shared_ptr<ResponseWriter> writer) {
  uint64_t after = 0;
  std::optional<std::string_view> value = QueryValue(query, "after");
  if (value && !ParseSeq(*value, &after)) {
    return SendError(*writer, 400, "after must be a sequence number (0 or more)");
  }
  uint64_t compacted_through = log_.compacted_through();
  if (after < compacted_through) {
    uint64_t head = log_.head();
    return SendJson(
        *writer, 410,
        fmt::format("{{\"error\":{},\"compacted_through\":{},\"head\":{}{}{}}}",
                    base::JsonEscape(
                        fmt::format("entries after {} were compacted (through {}): take a snapshot",
                                    after, compacted_through)),
                    compacted_through, head, EpochMember(log_), StateMember(log_, options_)));
  }
  uint64_t now = NowMs();
  ReaderInfo info{request.remote_address, Printable(Header(request, "X-Edge-Pop-Id")), after, now,
                  now};
  Start(std::make_shared<LogStream>(*this, std::move(writer), after, std::move(info)));
}

void SyncServer::ServeSnapshot(std::shared_ptr<ResponseWriter> writer) {
  if (!options_.sign_manifest) {
    std::string body = "{\"error\":\"this node cannot sign snapshots: ask the origin\"}\n";
    writer->Start(404, "", {{"Content-Type", "application/json"}}, body.size());
    writer->Write(body);
    writer->Finish();
    return;
  }
  if (snapshot_streams_ >= options_.max_snapshot_streams) {
    Log(LogLevel::kInfo, "sync: refused a snapshot: {} are being served (the most at once)",
        snapshot_streams_);
    return SendError(*writer, 503,
                     fmt::format("this node serves {} snapshots at once: retry later",
                                 options_.max_snapshot_streams),
                     {{"Retry-After", std::to_string(options_.snapshot_retry_after_s)}});
  }
  Start(std::make_shared<SnapshotStream>(*this, std::move(writer)));
}

void SyncServer::ServeBlob(std::string_view name, std::shared_ptr<ResponseWriter> writer) {
  if (!base::IsSha256Hex(name)) {
    return SendError(*writer, 400, "a blob is named by its SHA-256 in lower-case hex");
  }
  StatusOr<std::optional<std::string>> blob = log_.GetBlob(std::string(name));
  if (!blob.ok()) {
    Log(LogLevel::kError, "sync: reading blob {}: {}", name, blob.status().message());
    return SendError(*writer, 500, "cannot read the blob");
  }
  if (!blob->has_value()) return SendError(*writer, 404, fmt::format("no blob {}", name));
  Start(std::make_shared<BlobStream>(*this, std::move(writer), std::move(**blob)));
}

void SyncServer::Start(std::shared_ptr<Stream> stream) {
  Stream* pointer = stream.get();
  streams_.emplace(pointer, stream);
  stream->Begin();
}

void SyncServer::Forget(Stream* stream) { streams_.erase(stream); }

uint64_t SyncServer::AddReader(ReaderInfo info) {
  std::lock_guard<std::mutex> lock(readers_mutex_);
  uint64_t id = next_reader_id_++;
  readers_.emplace(id, std::move(info));
  return id;
}

void SyncServer::UpdateReader(uint64_t id, uint64_t cursor, bool contact) {
  std::lock_guard<std::mutex> lock(readers_mutex_);
  auto it = readers_.find(id);
  if (it == readers_.end()) return;
  it->second.cursor = cursor;
  if (contact) it->second.last_contact_ms = NowMs();
}

void SyncServer::RemoveReader(uint64_t id) {
  std::lock_guard<std::mutex> lock(readers_mutex_);
  readers_.erase(id);
}

size_t SyncServer::readers() const {
  std::lock_guard<std::mutex> lock(readers_mutex_);
  return readers_.size();
}

std::vector<ReaderInfo> SyncServer::Readers() const {
  std::lock_guard<std::mutex> lock(readers_mutex_);
  std::vector<ReaderInfo> out;
  out.reserve(readers_.size());
  for (const auto& [id, info] : readers_) out.push_back(info);
  return out;
}

}  // namespace edge::sync
