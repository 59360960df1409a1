#include "edge-sync/sync_client.h"

#include "base/base64.h"

#include <fmt/core.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <chrono>
#include <exception>

#include "base/log.h"
#include "base/sha256.h"
#include "edge-sync/epoch.h"
#include "edge-sync/control_line.h"

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
    bool required = false;
    if (options_.snapshot_required) {
      Status asked = Guarded("the replica's snapshot state", [&] {
        required = options_.snapshot_required();
        return Status::Ok();
      });
      if (!asked.ok()) Log(LogLevel::kError, "sync: {}", asked.message());
    }
    Status status = required ? Status(ErrorCode::kIo, "a snapshot was interrupted: taking one again")
                             : TailOnce(target, &made_progress, &need_snapshot);
    if (required) need_snapshot = true;
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
  connection_verified_ = false;
  Status status = base::Stream(
      target, fmt::format("/sync/log?after={}", cursor),
      [&](std::string_view line) {
        result = OnLine(target, line, &cursor, made_progress, &why);
        return result == LineResult::kContinue;
      },
      stream);
  if (!new_epoch_.empty()) *need_snapshot = true;
  if (result == LineResult::kRefused || result == LineResult::kFailed) return why;
  if (!status.ok()) {
    if (refusal.status == 410) {
      // A snapshot is costly: taken only when the origin's signed state
      // shows the log compacted past this cursor (or in another epoch).
      simdjson::dom::parser parser;
      simdjson::dom::object body, state_object;
      std::string state_json;
      if (parser.parse(refusal.body).get_object().get(body) == simdjson::SUCCESS &&
          body["state"].get_object().get(state_object) == simdjson::SUCCESS) {
        state_json = simdjson::minify(state_object);
      }
      if (state_json.empty()) {
        Unverified("a 410", "it carries no state signed by the origin");
        return Status(ErrorCode::kIo,
                      "the upstream answered 410 without the origin's signed "
                      "state: ignored");
      }
      StatusOr<LogState> state = VerifyLogState(state_json, options_.key);
      if (!state.ok()) {
        Unverified("a 410", state.status().message(), /*forged=*/true);
        return Status(ErrorCode::kIo,
                      "the upstream answered 410 with " + state.status().message() + ": ignored");
      }
      Status epoch_why;
      bool accepted = false;
      if (OnState(*state, state_json, &epoch_why, &accepted) != LineResult::kContinue) {
        if (!new_epoch_.empty()) *need_snapshot = true;
        return epoch_why;
      }
      if (!accepted) {
        return Status(ErrorCode::kIo,
                      "the upstream answered 410 with a state older than one "
                      "seen: ignored");
      }
      if (state->compacted_through <= cursor) {
        Unverified("a 410", fmt::format("the origin's signed state has it compacted through {}, "
                                        "not past this cursor {}",
                                        state->compacted_through, cursor));
        return Status(ErrorCode::kIo,
                      "the upstream answered 410 that the origin's signed state "
                      "does not back: ignored");
      }
      *need_snapshot = true;
    }
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
    std::optional<ControlLine> control = AsControlLine(line);
    if (!control) return refuse(0, "malformed line: " + signed_entry.status().message());
    if (control->type == "heartbeat") {
      // Only what the origin signed counts: the head (lag) and the epoch.
      if (control->state.empty()) {
        Unverified("a heartbeat", "it carries no state signed by the origin");
        return LineResult::kContinue;
      }
      StatusOr<LogState> state = VerifyLogState(control->state, options_.key);
      if (!state.ok()) {
        Unverified("a heartbeat", state.status().message(), /*forged=*/true);
        return LineResult::kContinue;
      }
      bool accepted = false;
      LineResult result = OnState(*state, control->state, why, &accepted);
      if (result == LineResult::kContinue && accepted) connection_verified_ = true;
      return result;
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
  if (options_.epoch && !connection_verified_) {
    // Whose history is this? Not known yet: a relay that has not taken
    // the origin's new epoch must not feed its old entries to a PoP that
    // has.
    *why = Status(ErrorCode::kIo,
                  "the upstream sent entries before a state signed by the "
                  "origin for this replica's epoch");
    return LineResult::kFailed;
  }
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

SyncClient::LineResult SyncClient::OnState(const LogState& state, std::string_view json,
                                           Status* why, bool* accepted) {
  *accepted = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // A replayed older state (of an older epoch, or a smaller head) is not
    // news.
    if (state_ && state.time_ms < state_->time_ms) {
      ++stats_.unverified;
      Log(LogLevel::kDebug, "sync: ignored a log state from {} older than one seen",
          options_.from_url);
      return LineResult::kContinue;
    }
    state_ = state;
    state_json_ = std::string(json);
    stats_.origin_head = state.head;
  }
  *accepted = true;
  if (state.epoch.empty() || !options_.epoch) return LineResult::kContinue;
  std::string mine;
  Status read = Guarded("the replica's epoch", [&] {
    mine = options_.epoch();
    return Status::Ok();
  });
  if (read.ok() && mine.empty()) {
    read = Guarded("storing the epoch", [&] { return options_.set_epoch(state.epoch); });
  } else if (read.ok() && mine != state.epoch) {
    // Another history of the log: its numbers say nothing about ours.
    new_epoch_ = state.epoch;
    *why = Status(ErrorCode::kIo, fmt::format("the upstream's log is in epoch {}, this replica's "
                                              "in {} (the origin was restored or replaced)",
                                              state.epoch, mine));
    return LineResult::kFailed;
  }
  if (!read.ok()) {
    *why = read;
    return LineResult::kFailed;
  }
  return LineResult::kContinue;
}

void SyncClient::Unverified(std::string_view what, std::string_view why, bool forged) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.unverified;
  }
  Log(forged ? LogLevel::kWarn : LogLevel::kDebug, "sync: ignored {} from {}: {}", what,
      options_.from_url, why);
}

std::optional<LogState> SyncClient::LatestState() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

std::string SyncClient::LatestStateJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_json_;
}

std::pair<std::optional<LogState>, std::string> SyncClient::Latest() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {state_, state_json_};
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
  if (options_.snapshot_dir.empty()) {
    return Status(ErrorCode::kInternal, "this replica has no folder to spool a snapshot to");
  }
  StatusOr<std::unique_ptr<SnapshotSpool>> spool =
      SnapshotSpool::Create(options_.snapshot_dir, options_.key);
  if (!spool.ok()) return spool.status();
  // Each line is checked and written to disk as it arrives: memory stays
  // bounded by one line, whatever the size of the snapshot.
  Status why;
  auto on_line = [&](std::string_view line) {
    if (stopping()) return false;
    Status added = (*spool)->Add(line);
    if (!added.ok()) {
      if (added.code() == ErrorCode::kInvalidInput) {
        Refused(0, "in a snapshot: " + added.message());
        why = Refusal("refused a snapshot: " + added.message());
      } else {
        why = added;
      }
      return false;
    }
    return !(*spool)->ended();
  };
  base::HttpResponse refusal;
  base::StreamOptions stream;
  stream.max_line_bytes = kMaxLineBytes;
  stream.refusal = &refusal;
  Status status = base::Stream(target, "/sync/snapshot", on_line, stream);
  if (!why.ok()) return why;
  if (!status.ok()) {
    // The upstream serves as many snapshots at once as it can afford.
    if (refusal.status == 503) {
      uint64_t wait_ms = RetryAfterMs(refusal);
      std::lock_guard<std::mutex> lock(mutex_);
      retry_after_ms_ = wait_ms;
    }
    return status;
  }
  if (stopping()) return Status(ErrorCode::kIo, "stopped");
  StatusOr<SnapshotFile> file = (*spool)->Finish();
  if (!file.ok()) return file.status();
  struct RemoveFile {
    std::string path;
    ~RemoveFile() { std::remove(path.c_str()); }
  } remove_file{file->path};

  // A genuine but older snapshot (replayed) would move the replica back.
  uint64_t before = 0;
  EDGE_RETURN_IF_ERROR(Guarded("the replica's cursor", [&] {
    before = cursor_();
    return Status::Ok();
  }));
  // Another epoch: the snapshot is of another history, and is taken even
  // if its head is behind this replica's cursor.
  // Only an epoch the origin signed counts (the header's is not signed).
  std::string epoch = new_epoch_;
  std::string mine;
  if (options_.epoch) {
    EDGE_RETURN_IF_ERROR(Guarded("the replica's epoch", [&] {
      mine = options_.epoch();
      return Status::Ok();
    }));
  }
  bool other_epoch = !epoch.empty() && !mine.empty() && epoch != mine;
  if (file->info.head < before && !other_epoch) {
    Refused(0, fmt::format("in a snapshot: its head {} is behind this replica's cursor {}",
                           file->info.head, before));
    return Refusal("refused a snapshot older than this replica");
  }
  if (other_epoch && options_.on_other_epoch) options_.on_other_epoch();
  FetchBlobFn fetch_blob = [&](const std::string& sha256) -> StatusOr<std::string> {
    if (stopping()) return Status(ErrorCode::kIo, "stopped");
    StatusOr<std::string> blob = FetchBlob(target, sha256);
    if (!blob.ok() && blob.status().code() == ErrorCode::kInvalidInput) {
      Refused(0, "in a snapshot: " + blob.status().message());
    }
    return blob;
  };
  Status reset = Guarded("resetting the replica", [&] { return reset_(*file, fetch_blob); });
  if (!reset.ok()) {
    Log(LogLevel::kError, "sync: the replica did not take the snapshot: {}", reset.message());
    return Status(reset.code(), "taking the snapshot: " + reset.message());
  }
  uint64_t cursor = 0;
  EDGE_RETURN_IF_ERROR(Guarded("the replica's cursor", [&] {
    cursor = cursor_();
    return Status::Ok();
  }));
  if (cursor < file->info.compacted_through) {
    return Status(ErrorCode::kInternal,
                  fmt::format("after the snapshot the replica's cursor is {}, not {}", cursor,
                              file->info.head));
  }
  if (options_.set_epoch && !epoch.empty() && epoch != mine) {
    EDGE_RETURN_IF_ERROR(Guarded("storing the epoch", [&] { return options_.set_epoch(epoch); }));
  }
  new_epoch_.clear();
  Log(LogLevel::kInfo, "sync: took a snapshot of {} entries (head {}{}) from {}", file->info.count,
      file->info.head, other_epoch ? ", new epoch " + epoch : std::string(), options_.from_url);
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.snapshots;
  stats_.origin_head = std::max(stats_.origin_head, file->info.head);
  stats_.last_contact_ms = NowMs();
  return Status::Ok();
}

uint64_t SyncClient::RetryAfterMs(const base::HttpResponse& refusal) const {
  std::string text = refusal.Header("Retry-After");
  uint64_t seconds = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return 0;
  if (seconds > options_.max_retry_after_ms / 1000) return options_.max_retry_after_ms;
  return seconds * 1000;
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
  // A busy upstream said when to come back: not before, and spread over
  // the next quarter of that, so that refused readers do not return at once.
  if (retry_after_ms_ > wait_ms) {
    wait_ms = retry_after_ms_ +
              std::uniform_int_distribution<uint64_t>(0, retry_after_ms_ / 4)(random_);
  }
  retry_after_ms_ = 0;
  wake_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stopping_; });
  *delay_ms = std::min(options_.max_backoff_ms, *delay_ms * 2);
}

}  // namespace edge::sync
