#include "edge-sync/snapshot.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/base64.h"
#include "base/http_client/http_client.h"
#include "base/lmdb.h"
#include "edge-sync/control_line.h"

namespace edge::sync {
namespace {
namespace fs = std::filesystem;

constexpr const char* kFileName = "snapshot.ndjson";
constexpr const char* kPartialName = "snapshot.ndjson.partial";
// Reads of a snapshot file.
constexpr size_t kReadBytes = 64u << 10;

Status Refusal(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }

Status IoError(std::string_view what, const std::string& path) {
  return Status(ErrorCode::kIo, fmt::format("{} {}: {}", what, path, strerror(errno)));
}

// Calls `on_line` for each line of the file at `path`; kIo when it cannot
// be read, kInvalidInput for a line longer than any snapshot holds.
Status ForEachLine(const std::string& path,
                   const std::function<Status(std::string_view)>& on_line) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", path);
  base::LineSplitter splitter(kMaxLineBytes);
  Status failed;
  auto each = [&](std::string_view line) {
    failed = on_line(line);
    return failed.ok();
  };
  std::string buffer(kReadBytes, '\0');
  Status result;
  for (;;) {
    ssize_t got = read(fd, buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      result = IoError("cannot read", path);
      break;
    }
    if (got == 0) {
      if (!splitter.Finish(each)) result = failed;
      break;
    }
    if (!splitter.Feed(std::string_view(buffer.data(), static_cast<size_t>(got)), each)) {
      result =
          splitter.overflowed()
              ? Refusal(fmt::format("{} holds a line longer than {} bytes", path, kMaxLineBytes))
              : failed;
      break;
    }
  }
  close(fd);
  return result;
}

}  // namespace

std::string SnapshotLines::Header(std::string_view members) const {
  return fmt::format("{{\"type\":\"snapshot\",\"head\":{},\"compacted_through\":{}{}}}\n", head_,
                     compacted_through_, members);
}

void SnapshotLines::Add(std::string_view line) {
  digest_.Update(line);
  ++count_;
}

std::string SnapshotLines::End(const std::function<std::string(std::string_view)>& sign) {
  std::string signature =
      sign(SnapshotManifest(head_, compacted_through_, count_, digest_.HexDigest()));
  return fmt::format("{{\"type\":\"end\",\"count\":{},\"sig\":\"{}\"}}\n", count_,
                     base::Base64Encode(signature));
}

StatusOr<bool> SnapshotVerifier::Feed(std::string_view line, VerifiedEntry* entry) {
  if (line.empty()) return false;
  if (ended_) return Refusal("a line after the snapshot's end");
  // Entries first (ParseLine is strict); what is not one must be a control
  // line.
  StatusOr<SignedEntry> signed_entry = ParseLine(line);
  if (!signed_entry.ok()) {
    std::optional<ControlLine> control = AsControlLine(line);
    if (!control) return Refusal("malformed line: " + signed_entry.status().message());
    if (control->type == "snapshot") {
      if (started_) return Refusal("a second snapshot header");
      if (!control->has_head || !control->has_compacted_through) {
        return Refusal("its header has no head or compaction point");
      }
      if (control->compacted_through > control->head) {
        return Refusal("its compaction point is past its head");
      }
      started_ = true;
      info_.head = control->head;
      info_.compacted_through = control->compacted_through;
    } else if (control->type == "end") {
      if (!started_) return Refusal("it ends before it starts");
      if (!control->has_count || control->count != info_.count) {
        return Refusal(
            fmt::format("it ends after {} entries but says {}", info_.count, control->count));
      }
      // Its head, compaction point and every line must be the origin's.
      StatusOr<std::string> signature = base::Base64Decode(control->sig);
      if (!signature.ok() || !key_.VerifyBytes(SnapshotManifest(info_.head, info_.compacted_through,
                                                                info_.count, digest_.HexDigest()),
                                               *signature)) {
        return Refusal("its manifest is not signed by the origin's key");
      }
      ended_ = true;
    }
    return false;  // other control types: not for us
  }
  if (!started_) return Refusal("an entry before the snapshot header");
  const uint64_t seq = signed_entry->seq;
  if (seq <= last_seq_) return Refusal(fmt::format("entry {} after {}", seq, last_seq_));
  if (seq > info_.head) {
    return Refusal(fmt::format("entry {} is past its head {}", seq, info_.head));
  }
  StatusOr<Entry> decoded = key_.Verify(*signed_entry);
  if (!decoded.ok()) return Refusal(decoded.status().message());  // it names the seq
  digest_.Update(signed_entry->Line());
  last_seq_ = seq;
  ++info_.count;
  entry->line = std::move(signed_entry).value();
  entry->entry = std::move(decoded).value();
  return true;
}

StatusOr<std::unique_ptr<SnapshotSpool>> SnapshotSpool::Create(const std::string& dir,
                                                               const VerifyKey& key) {
  StatusOr<std::string> made = base::MakeStoreDir(dir, /*private_dir=*/true);
  if (!made.ok()) return made.status();
  std::string partial = (fs::path(*made) / kPartialName).string();
  int fd = open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create", partial);
  FILE* file = fdopen(fd, "w");
  if (file == nullptr) {
    close(fd);
    return IoError("cannot open", partial);
  }
  return std::unique_ptr<SnapshotSpool>(new SnapshotSpool(*made, key, file));
}

SnapshotSpool::~SnapshotSpool() {
  if (file_ != nullptr) fclose(file_);
  if (!finished_) {
    std::error_code ignored;
    fs::remove(fs::path(dir_) / kPartialName, ignored);
  }
}

Status SnapshotSpool::Add(std::string_view line) {
  if (file_ == nullptr) return Status(ErrorCode::kIo, "the snapshot spool is closed");
  VerifiedEntry entry;
  const bool started = verifier_.started(), ended = verifier_.ended();
  StatusOr<bool> fed = verifier_.Feed(line, &entry);
  if (!fed.ok()) return fed.status();
  // Only the header, the entries and the end line are kept: control lines
  // of other types (skipped) cannot fill the disk.
  if (!*fed && started == verifier_.started() && ended == verifier_.ended()) {
    return Status::Ok();
  }
  if (fwrite(line.data(), 1, line.size(), file_) != line.size() || fputc('\n', file_) == EOF) {
    return IoError("cannot write", (fs::path(dir_) / kPartialName).string());
  }
  return Status::Ok();
}

StatusOr<SnapshotFile> SnapshotSpool::Finish() {
  std::string partial = (fs::path(dir_) / kPartialName).string();
  if (!verifier_.ended()) return Status(ErrorCode::kIo, "the snapshot ended early");
  if (file_ == nullptr) return Status(ErrorCode::kIo, "the snapshot spool is closed");
  bool written = fflush(file_) == 0 && fsync(fileno(file_)) == 0;
  int closed = fclose(file_);
  file_ = nullptr;
  if (!written || closed != 0) return IoError("cannot write", partial);
  std::string path = (fs::path(dir_) / kFileName).string();
  if (rename(partial.c_str(), path.c_str()) != 0) return IoError("cannot rename", partial);
  finished_ = true;
  return SnapshotFile{path, verifier_.info()};
}

StatusOr<SnapshotInfo> VerifySnapshotFile(const std::string& path, const VerifyKey& key) {
  SnapshotVerifier verifier(key);
  VerifiedEntry entry;
  Status status = ForEachLine(path, [&](std::string_view line) -> Status {
    StatusOr<bool> fed = verifier.Feed(line, &entry);
    return fed.ok() ? Status::Ok() : fed.status();
  });
  if (!status.ok()) {
    if (status.code() == ErrorCode::kInvalidInput) {
      return Refusal(fmt::format("the snapshot in {} is refused: {}", path, status.message()));
    }
    return status;
  }
  if (!verifier.ended()) {
    return Refusal(fmt::format("the snapshot in {} is cut short (it has no end line)", path));
  }
  return verifier.info();
}

Status ForEachSnapshotEntry(const std::string& path, const VerifyKey& key,
                            const std::function<Status(const VerifiedEntry&)>& on_entry,
                            SnapshotInfo* info) {
  SnapshotVerifier verifier(key);
  VerifiedEntry entry;
  Status status = ForEachLine(path, [&](std::string_view line) -> Status {
    StatusOr<bool> fed = verifier.Feed(line, &entry);
    if (!fed.ok()) return fed.status();
    return *fed ? on_entry(entry) : Status::Ok();
  });
  if (!status.ok()) return status;
  if (!verifier.ended()) {
    return Refusal(fmt::format("the snapshot in {} is cut short (it has no end line)", path));
  }
  if (info != nullptr) *info = verifier.info();
  return Status::Ok();
}

}  // namespace edge::sync
