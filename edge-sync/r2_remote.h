// Buckets in a fleet, a PoP's side (the origin's side is r2_home.h;
// docs/edge-sync.md, "Buckets in a fleet"). On a PoP every R2 call of its
// workers goes to the origin, whose store is the home of every bucket:
// nothing is written to, or read from, the PoP's own store.
//
// - A put (or a part) streams: the body goes to the origin as the worker
//   produces it, through a bounded pipe (kR2RemotePipeBytes) to a thread
//   that holds the request; it resolves only once the origin answered that
//   it committed the object. A put whose body fails, or whose invocation
//   ends, is cancelled: the origin sees the request cut short and stores
//   nothing.
// - A get answers the metadata (and a body of at most 64 KiB) in one call;
//   a larger body is read from the origin as the worker reads it, 1 MiB per
//   call, each read pinned to the object's version: a body whose object is
//   replaced or deleted while it is read fails with an error saying so.
// - Every other call is one request. An origin that cannot be reached
//   fails the call with an error saying so; after that, calls fail at once
//   for kR2OriginBackoffMs instead of each waiting for its own timeout.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/http_client/http_client.h"
#include "bindings/r2/r2_fleet.h"

namespace edge::sync {

// Bytes of a put's body waiting between the worker and the origin, at most.
inline constexpr size_t kR2RemotePipeBytes = 1u << 20;
// Puts and parts on their way to the origin at once from one PoP, at most
// (each holds a thread and a connection); more fail at once.
inline constexpr int kR2RemoteMaxUploads = 64;
// After a call could not reach the origin, calls fail at once this long.
inline constexpr int64_t kR2OriginBackoffMs = 2000;

class R2Remote : public bindings::R2Fleet, public std::enable_shared_from_this<R2Remote> {
 public:
  explicit R2Remote(base::HttpTarget upstream);

  StatusOr<std::unique_ptr<bindings::R2BodyWriter>> BeginPut(
      const std::string& owner, const std::string& bucket, const std::string& key,
      bindings::R2PutOptions options, std::optional<uint64_t> declared) override;
  StatusOr<std::unique_ptr<bindings::R2BodyWriter>> BeginPart(
      const std::string& owner, const std::string& bucket, const std::string& key,
      const std::string& upload_id, uint32_t part_number,
      std::optional<uint64_t> declared) override;
  StatusOr<std::optional<bindings::R2ObjectMeta>> Head(const std::string& owner,
                                                       const std::string& bucket,
                                                       const std::string& key) override;
  StatusOr<std::optional<bindings::R2Fetched>> Get(const std::string& owner,
                                                   const std::string& bucket,
                                                   const std::string& key,
                                                   const bindings::R2Conditional& only_if,
                                                   const std::optional<bindings::R2Range>& range,
                                                   size_t inline_max) override;
  Status Delete(const std::string& owner, const std::string& bucket,
                const std::vector<std::string>& keys) override;
  StatusOr<bindings::R2ListResult> List(const std::string& owner, const std::string& bucket,
                                        const bindings::R2ListOptions& options) override;
  StatusOr<std::string> CreateMultipartUpload(const std::string& owner, const std::string& bucket,
                                              const std::string& key,
                                              bindings::R2PutOptions options) override;
  StatusOr<bindings::R2ObjectMeta> CompleteMultipartUpload(
      const std::string& owner, const std::string& bucket, const std::string& key,
      const std::string& upload_id,
      const std::vector<std::pair<uint32_t, std::string>>& parts) override;
  Status AbortMultipartUpload(const std::string& owner, const std::string& bucket,
                              const std::string& key, const std::string& upload_id) override;

  struct Counts {
    uint64_t calls = 0;   // answered by the origin (2xx)
    uint64_t failed = 0;  // could not reach it, or refused by something but the store
    uint64_t uploads = 0; // puts and parts the origin committed
  };
  Counts counts() const;

  // One JSON call (POST /sync/r2/call): the answer's body on a 2xx, else
  // the store's error it carries, or an error saying the origin could not
  // be reached or refused. Used by the readers too.
  StatusOr<std::string> Call(const std::string& json);

 private:
  class Writer;
  friend class Writer;
  StatusOr<std::unique_ptr<bindings::R2BodyWriter>> Upload(std::string header, uint64_t declared);
  base::HttpTarget upload_target_with(std::shared_ptr<base::CancelToken> cancel) const;
  // Whether calls fail at once now (the origin was away a moment ago).
  Status Backoff();
  void NoteReached(bool reached, const Status& why);
  void Count(bool answered);

  base::HttpTarget upstream_;
  base::HttpTarget upload_target_;
  mutable std::mutex mutex_;
  Counts counts_;
  int uploads_in_flight_ = 0;
  int64_t away_until_ms_ = 0;  // steady clock
  std::string away_why_;
};

// The answer of a refusal, as the PoP reports it: the store's error when
// the body carries one ({"error","code"}), else an error naming the status.
Status R2RemoteAnswerError(int status, std::string_view body);

}  // namespace edge::sync
