#include "edge-sync/sync_client.h"

#include "base/base64.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "base/log.h"
#include "base/sha256.h"
#include "edge-sync/snapshot_reader.h"

namespace edge::sync {
namespace {

using SteadyClock = std::chrono::steady_clock;

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

Status Refusal(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }

// Runs a replica callback; an exception is a failure, not the end of the thread.
template <typename Fn>
Status Guarded(const char* what, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& error) {
    return Status(ErrorCode::kInternal, fmt::format("{} threw: {}", what, error.what()));
  } catch (...) {
    return Status(ErrorCode::kInternal, fmt::format("{} threw", what));
  }
}

}  // namespace

SyncClient::SyncClient(SyncClientOptions options, std::function<uint64_t()> cursor, ApplyFn apply,
                       ResetFn reset)
    : options_(std::move(options)),
      cursor_(std::move(cursor)),
      apply_(std::move(apply)),
      reset_(std::move(reset)),
      random_(std::random_device{}()) {
  options_.initial_backoff_ms = std::max<uint64_t>(options_.initial_backoff_ms, 1);
  options_.max_backoff_ms = std::max(options_.max_backoff_ms, options_.initial_backoff_ms);
}

SyncClient::~SyncClient() { Stop(); }

void SyncClient::Start() {
  if (thread_.joinable()) return;
  std::shared_ptr<base::CancelToken> cancel = std::make_shared<base::CancelToken>();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
    cancel_ = cancel;
  }
  thread_ = std::thread([this, cancel] { Run(cancel); });
}

void SyncClient::Stop() {
  std::shared_ptr<base::CancelToken> cancel;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    cancel = cancel_;
  }
  if (cancel) cancel->Cancel();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.connected = false;
}

SyncClient::Stats SyncClient::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

bool SyncClient::stopping() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

void SyncClient::Run(std::shared_ptr<base::CancelToken> cancel) {
  base::HttpTarget target{options_.from_url, options_.token};
  target.connect_timeout_ms = options_.connect_timeout_ms;
  target.io_timeout_ms = options_.io_timeout_ms;
  target.max_response_bytes = options_.max_blob_bytes;
  if (!options_.pop_id.empty()) target.headers.emplace_back("X-Edge-Pop-Id", options_.pop_id);
  target.cancel = std::move(cancel);

  uint64_t delay_ms = options_.initial_backoff_ms;
  bool first = true;
  while (!stopping()) {
    if (!first) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.reconnects;
    }
    first = false;
    bool made_progress = false, need_snapshot = false;
    SteadyClock::time_point connected_at = SteadyClock::now();
    const uint64_t refused_before = stats().refused;
    Status status = TailOnce(target, &made_progress, &need_snapshot);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.connected = false;
    }
    if (stopping()) break;
    if (need_snapshot) {
      Log(LogLevel::kInfo, "sync: {}; taking a snapshot from {}", status.message(),
          options_.from_url);
      status = TakeSnapshot(target);
      if (stopping()) break;
      // Tail from the snapshot's head at once, unless the upstream asks for
      // snapshot after snapshot: then wait as after a failure.
      bool again = last_snapshot_ok_ && SteadyClock::now() - last_snapshot_at_ <
                                            std::chrono::milliseconds(options_.max_backoff_ms);
      last_snapshot_ok_ = status.ok();
      last_snapshot_at_ = SteadyClock::now();
      if (status.ok() && !again) {
        delay_ms = options_.initial_backoff_ms;
        continue;
      }
      if (status.ok()) status = Status(ErrorCode::kIo, "the upstream asks for snapshot after snapshot");
    }
    // A connection that applied something, or that stayed up longer than
    // the longest backoff, was a working one: start the backoff over.
    uint64_t lasted_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - connected_at)
            .count());
    if (made_progress || lasted_ms >= options_.max_backoff_ms) {
      delay_ms = options_.initial_backoff_ms;
    }
    std::string error = status.message();
    bool quiet;  // said already: a refusal is logged as it happens; the same error again
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quiet = stats_.last_error == error || stats_.refused != refused_before;
      stats_.last_error = error;
    }
    Log(quiet ? LogLevel::kDebug : LogLevel::kWarn, "sync: {} (from {}); retrying in ~{} ms", error,
        options_.from_url, delay_ms);
    Backoff(&delay_ms);
  }
}

Status SyncClient::TailOnce(const base::HttpTarget& target, bool* made_progress,
                            bool* need_snapshot) {
  uint64_t cursor = 0;
  Status cursor_status = Guarded("the replica's cursor", [&] {
    cursor = cursor_();
    return Status::Ok();
  });
  EDGE_RETURN_IF_ERROR(cursor_status);

  base::HttpResponse refusal;
  base::StreamOptions stream;
  stream.refusal = &refusal;
  stream.max_line_bytes = kMaxLineBytes;
  stream.on_connected = [this] {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.connected = true;
    stats_.last_contact_ms = NowMs();
  };
  LineResult result = LineResult::kContinue;
  Status why;
  Status status = base::Stream(
      target, fmt::format("/sync/log?after={}", cursor),
      [&](std::string_view line) {
        result = OnLine(target, line, &cursor, made_progress, &why);
        return result == LineResult::kContinue;
      },
      stream);
  if (result == LineResult::kRefused || result == LineResult::kFailed) return why;
  if (!status.ok()) {
    if (refusal.status == 410) *need_snapshot = true;
    return status;
  }
  return Status(ErrorCode::kIo, "the origin ended the log stream");
}

SyncClient::LineResult SyncClient::OnLine(const base::HttpTarget& target, std::string_view line,
                                          uint64_t* cursor, bool* made_progress, Status* why) {
  if (stopping()) return LineResult::kStop;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.last_contact_ms = NowMs();
  }
  if (line.empty()) return LineResult::kContinue;
  auto refuse = [&](uint64_t seq, std::string reason) {
    Refused(seq, reason);
    *why = Refusal(std::move(reason));
    return LineResult::kRefused;
  };
  // Entries first (ParseLine is strict: exactly seq, entry and sig); what
  // is not one must be a control line, or it is refused.
  StatusOr<SignedEntry> signed_entry = ParseLine(line);
  if (!signed_entry.ok()) {
    simdjson::dom::parser parser;
    std::optional<ControlLine> control = AsControlLine(parser, line);
    if (!control) return refuse(0, "malformed line: " + signed_entry.status().message());
    if (control->type == "heartbeat") {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.origin_head = control->head;
    }
    return LineResult::kContinue;  // other types: not for us
  }
  const uint64_t seq = signed_entry->seq;
  if (seq <= *cursor) return LineResult::kContinue;  // applied already
  if (seq != *cursor + 1) {
    return refuse(seq, fmt::format("entry {} follows {}: entries are missing", seq, *cursor));
  }
  StatusOr<Entry> entry = options_.key.Verify(*signed_entry);
  if (!entry.ok()) return refuse(seq, entry.status().message());
  std::optional<std::string> blob;
  if (!entry->blob.empty()) {
    StatusOr<std::string> fetched = FetchBlob(target, entry->blob);
    if (!fetched.ok()) {
      if (fetched.status().code() == ErrorCode::kInvalidInput) {
        return refuse(seq, fetched.status().message());
      }
      *why = fetched.status();
      return LineResult::kFailed;
    }
    blob = std::move(fetched).value();
  }
  if (stopping()) return LineResult::kStop;
  Status applied =
      Guarded("applying an entry", [&] { return apply_(*signed_entry, *entry, blob); });
  if (!applied.ok()) {
    Log(LogLevel::kError, "sync: the replica did not apply entry {}: {}", seq, applied.message());
    *why = Status(applied.code(), fmt::format("applying entry {}: {}", seq, applied.message()));
    return LineResult::kFailed;
  }
  *cursor = seq;
  *made_progress = true;
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.applied;
  stats_.origin_head = std::max(stats_.origin_head, seq);
  return LineResult::kContinue;
}

StatusOr<std::string> SyncClient::FetchBlob(const base::HttpTarget& target,
                                            const std::string& sha256) {
  StatusOr<base::HttpResponse> response = base::Request(target, "GET", "/sync/blobs/" + sha256);
  if (!response.ok()) return response.status();
  if (response->status == 404) {
    return Status(ErrorCode::kIo, fmt::format("the origin has no blob {}", sha256));
  }
  if (Status error = base::ResponseError(*response); !error.ok()) {
    return Status(ErrorCode::kIo, fmt::format("fetching blob {}: {}", sha256, error.message()));
  }
  std::string actual = base::Sha256Hex(response->body);
  if (actual != sha256) {
    return Refusal(fmt::format("blob {} has other content (its SHA-256 is {})", sha256, actual));
  }
  return std::move(response->body);
}

Status SyncClient::TakeSnapshot(const base::HttpTarget& target) {
  SnapshotReader reader(options_.key);
  bool ended = false;
  Status why;
  auto on_line = [&](std::string_view line) {
    if (stopping()) return false;
    switch (reader.OnLine(line)) {
      case SnapshotReader::Result::kMore:
        return true;
      case SnapshotReader::Result::kEnded:
        ended = true;
        return false;
      case SnapshotReader::Result::kRefused:
        Refused(reader.refused_seq(), "in a snapshot: " + reader.reason());
        why = Refusal("refused a snapshot: " + reader.reason());
        return false;
    }
    return false;
  };
  base::StreamOptions stream;
  stream.max_line_bytes = kMaxLineBytes;
  Status status = base::Stream(target, "/sync/snapshot", on_line, stream);
  if (!why.ok()) return why;
  if (!status.ok()) return status;
  if (!ended) return Status(ErrorCode::kIo, "the snapshot ended early");
  const std::vector<std::pair<SignedEntry, Entry>>& entries = reader.entries();

  std::map<std::string, std::string> blobs;
  for (const auto& [signed_entry, entry] : entries) {
    if (entry.blob.empty() || blobs.count(entry.blob) != 0) continue;
    StatusOr<std::string> blob = FetchBlob(target, entry.blob);
    if (!blob.ok()) {
      if (blob.status().code() == ErrorCode::kInvalidInput) {
        Refused(signed_entry.seq, "in a snapshot: " + blob.status().message());
        return Refusal("refused a snapshot: " + blob.status().message());
      }
      return blob.status();
    }
    blobs.emplace(entry.blob, std::move(blob).value());
  }
  if (stopping()) return Status(ErrorCode::kIo, "stopped");
  // A genuine but older snapshot (replayed) would move the replica back.
  uint64_t before = 0;
  EDGE_RETURN_IF_ERROR(Guarded("the replica's cursor", [&] {
    before = cursor_();
    return Status::Ok();
  }));
  if (reader.head() < before) {
    Refused(0, fmt::format("in a snapshot: its head {} is behind this replica's cursor {}",
                           reader.head(), before));
    return Refusal("refused a snapshot older than this replica");
  }
  Status reset = Guarded("resetting the replica", [&] {
    return reset_(entries, blobs, reader.head(), reader.compacted_through());
  });
  if (!reset.ok()) {
    Log(LogLevel::kError, "sync: the replica did not take the snapshot: {}", reset.message());
    return Status(reset.code(), "taking the snapshot: " + reset.message());
  }
  uint64_t cursor = 0;
  EDGE_RETURN_IF_ERROR(Guarded("the replica's cursor", [&] {
    cursor = cursor_();
    return Status::Ok();
  }));
  if (cursor < reader.compacted_through()) {
    return Status(
        ErrorCode::kInternal,
        fmt::format("after the snapshot the replica's cursor is {}, not {}", cursor, reader.head()));
  }
  Log(LogLevel::kInfo, "sync: took a snapshot of {} entries and {} blobs (head {}) from {}",
      entries.size(), blobs.size(), reader.head(), options_.from_url);
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.snapshots;
  stats_.origin_head = std::max(stats_.origin_head, reader.head());
  stats_.last_contact_ms = NowMs();
  return Status::Ok();
}

void SyncClient::Refused(uint64_t seq, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.refused;
  }
  if (seq != 0) {
    Log(LogLevel::kWarn, "sync: refused entry {} from {}: {}; reconnecting", seq, options_.from_url,
        reason);
  } else {
    Log(LogLevel::kWarn, "sync: refused a line from {}: {}; reconnecting", options_.from_url,
        reason);
  }
}

void SyncClient::Backoff(uint64_t* delay_ms) {
  // Full delay halved, plus up to the other half at random: readers that
  // lost the same origin do not all come back at once.
  uint64_t half = *delay_ms / 2;
  uint64_t wait_ms = half + std::uniform_int_distribution<uint64_t>(0, *delay_ms - half)(random_);
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stopping_; });
  *delay_ms = std::min(options_.max_backoff_ms, *delay_ms * 2);
}

}  // namespace edge::sync
