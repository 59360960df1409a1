// Buckets in a fleet, the origin's side (docs/edge-sync.md, "Buckets in a
// fleet"): the origin's own R2Store (<data_dir>/r2, the store every node
// has) is the home of every bucket, and PoPs reach it with two calls on the
// admin listener, under the sync token (or the admin token):
//
//   POST /sync/r2/call  a JSON call: head, get, read, delete, list,
//                       create_multipart, complete, abort
//   PUT  /sync/r2/put   a put or a part: one JSON line saying what, then
//                       the body, streamed to the store as it arrives
//
// Each call names its account; the origin serves it only when it knows the
// account and one of the account's deployed workers binds the bucket
// (`[[r2_buckets]]`), so a PoP cannot reach a bucket its tenant's workers
// do not bind. Answers carry the store's own errors ({"error","code"}), so
// a worker on a PoP sees the errors it would see on one node. A put is
// answered once the store committed it (durable: fsynced and indexed), and
// the store's change hook (R2Notifier) writes its events in the same
// transaction, into the origin's queue mailbox.
//
// Not thread-safe: the origin calls it on its control loop, as the admin
// API calls the store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "bindings/r2/r2_store.h"
#include "gateway/http/http_types.h"

namespace edge::gateway {
class Node;
}

namespace edge::sync {

// A JSON call's body, at most (a delete of 1,000 keys of 1 KiB, a complete
// of 10,000 parts, with room).
inline constexpr size_t kR2CallMaxBodyBytes = 4u << 20;
// The JSON line before an upload's body (key, metadata), at most.
inline constexpr size_t kR2UploadMaxHeaderBytes = 64u << 10;
// What one read, or a get's inline body, carries at most.
inline constexpr size_t kR2ReadMaxBytes = 1u << 20;

// Whether the node knows `account` and one of its deployed workers binds
// `bucket`: the origin's check (control loop). kNotFound-free: a refusal is
// kInvalidInput saying why.
std::function<Status(std::string_view account, std::string_view bucket)> NodeBindsBucket(
    gateway::Node& node);

class R2Home {
 public:
  using Allowed = std::function<Status(std::string_view account, std::string_view bucket)>;
  R2Home(std::shared_ptr<bindings::R2Store> store, Allowed allowed);

  struct Answer {
    int status = 200;
    // get and read: one JSON line, then the bytes.
    std::string content_type = "application/json";
    std::string body;
  };

  // POST /sync/r2/call.
  Answer Call(std::string_view body);

  // PUT /sync/r2/put, its body fed as it arrives. `content_length`: the
  // request's (an upload without one is refused).
  class Upload {
   public:
    ~Upload();
    void Feed(std::string_view chunk);
    // The body ended: the answer (the object committed, or why not).
    Answer Finish();
    // The body was cut short (the PoP went away): nothing is stored.
    void Abort();

   private:
    friend class R2Home;
    Upload(R2Home& home, std::optional<uint64_t> content_length)
        : home_(home), content_length_(content_length) {}
    void Begin();
    void Fail(int status, const Status& why);

    R2Home& home_;
    std::optional<uint64_t> content_length_;
    std::string header_;
    bool have_header_ = false;
    uint64_t declared_ = 0;
    uint64_t received_ = 0;  // body bytes after the header line
    std::unique_ptr<bindings::R2Writer> writer_;
    std::optional<Answer> failed_;  // answered at the end; the rest is drained
  };
  std::unique_ptr<Upload> BeginUpload(std::optional<uint64_t> content_length);

  // Serves /sync/r2/... on the origin's admin listener (authenticated
  // already). False for other paths.
  bool Handle(const gateway::HttpRequest& request,
              const std::shared_ptr<gateway::ResponseWriter>& writer);

  struct Counts {
    uint64_t calls = 0;    // answered 2xx
    uint64_t puts = 0;     // puts and parts committed
    uint64_t refused = 0;  // answered 4xx (another account's bucket, malformed, the store's refusals)
  };
  const Counts& counts() const { return counts_; }

 private:
  Answer Error(int status, const Status& why);

  std::shared_ptr<bindings::R2Store> store_;
  Allowed allowed_;
  Counts counts_;
};

}  // namespace edge::sync
