// Where a node's R2 bindings send their calls when the buckets live on
// another node: the fleet's origin (docs/edge-sync.md, "Buckets in a
// fleet"). A PoP of a fleet sets one (edge-sync/r2_remote.h); `edge dev`,
// `edge test`, a standalone `edge serve` and the origin itself have none,
// and every call goes to their own R2Store.
//
// Each method blocks (the natives call it on the thread pool) and answers
// as the store would: the same error codes and R2's messages, so a tenant
// sees the same errors wherever its bucket lives.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "bindings/r2/r2_store.h"

namespace edge::bindings {

// One body on its way in (a put's or a part's), written by one thread at a
// time; Abort (or the destructor) drops it, and nothing is stored.
class R2BodyWriter {
 public:
  virtual ~R2BodyWriter() = default;
  virtual Status Write(std::string_view bytes) = 0;
  // A put: the object's metadata, or nullopt when its onlyIf did not hold.
  // A part: its size and etag. Durable where the bucket lives once it
  // returns.
  virtual StatusOr<std::optional<R2ObjectMeta>> Commit() = 0;
  virtual void Abort() = 0;
};

// An object body being read, by one thread at a time.
class R2BodyReader {
 public:
  virtual ~R2BodyReader() = default;
  // Up to `length` bytes at `offset` of the whole body (not of the range);
  // fewer only at its end.
  virtual StatusOr<std::string> Read(uint64_t offset, size_t length) = 0;
};

// What get() answers: the object's metadata, and (unless its onlyIf did
// not hold) the range to read, with the bytes of a small body already here
// (`inline_body`, when `reader` is null) or a reader for the rest.
struct R2Fetched {
  R2ObjectMeta meta;
  bool has_body = false;
  bool ranged = false;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string inline_body;
  std::shared_ptr<R2BodyReader> reader;
};

class R2Fleet {
 public:
  virtual ~R2Fleet() = default;
  virtual StatusOr<std::unique_ptr<R2BodyWriter>> BeginPut(const std::string& owner,
                                                           const std::string& bucket,
                                                           const std::string& key,
                                                           R2PutOptions options,
                                                           std::optional<uint64_t> declared) = 0;
  virtual StatusOr<std::unique_ptr<R2BodyWriter>> BeginPart(const std::string& owner,
                                                            const std::string& bucket,
                                                            const std::string& key,
                                                            const std::string& upload_id,
                                                            uint32_t part_number,
                                                            std::optional<uint64_t> declared) = 0;
  virtual StatusOr<std::optional<R2ObjectMeta>> Head(const std::string& owner,
                                                     const std::string& bucket,
                                                     const std::string& key) = 0;
  // `inline_max`: a body (or range) this small comes back whole.
  virtual StatusOr<std::optional<R2Fetched>> Get(const std::string& owner,
                                                 const std::string& bucket,
                                                 const std::string& key,
                                                 const R2Conditional& only_if,
                                                 const std::optional<R2Range>& range,
                                                 size_t inline_max) = 0;
  virtual Status Delete(const std::string& owner, const std::string& bucket,
                        const std::vector<std::string>& keys) = 0;
  virtual StatusOr<R2ListResult> List(const std::string& owner, const std::string& bucket,
                                      const R2ListOptions& options) = 0;
  virtual StatusOr<std::string> CreateMultipartUpload(const std::string& owner,
                                                      const std::string& bucket,
                                                      const std::string& key,
                                                      R2PutOptions options) = 0;
  virtual StatusOr<R2ObjectMeta> CompleteMultipartUpload(
      const std::string& owner, const std::string& bucket, const std::string& key,
      const std::string& upload_id,
      const std::vector<std::pair<uint32_t, std::string>>& parts) = 0;
  virtual Status AbortMultipartUpload(const std::string& owner, const std::string& bucket,
                                      const std::string& key, const std::string& upload_id) = 0;
};

}  // namespace edge::bindings
