// What edge dev and edge serve share about running a worker's scheduled
// handler: wrangler dev's test endpoints (`/__scheduled?cron=...` and
// `/cdn-cgi/handler/scheduled?cron=...`), and a sink that turns the
// outcome of a scheduled invocation into one log line.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/response_sink.h"

namespace edge::gateway {

// A request target naming one of the test endpoints: the event it asks
// for. `cron` comes from the query (percent- and '+'-decoded; "" when
// absent), `time` (Unix ms) likewise, else `now_ms`. nullopt for any other
// path; a `time` that is not a number is an error.
std::optional<StatusOr<runtime::ScheduledEvent>> ScheduledTestRequest(std::string_view target,
                                                                      int64_t now_ms);

// `application/x-www-form-urlencoded` decoding of one query value ('+' is a
// space); invalid escapes are kept as they are.
std::string DecodeQueryValue(std::string_view value);

// Collects a scheduled invocation's outcome and calls `done(ok, text)` once:
// ok with the body the runtime sent ("Ran scheduled event"), or the reason
// it failed.
class OutcomeSink : public runtime::ResponseSink {
 public:
  explicit OutcomeSink(std::function<void(bool ok, std::string_view text)> done)
      : done_(std::move(done)) {}
  // With the body the invocation wrote before it ended too (a queue batch's
  // decisions, written before a failure).
  using DoneWithBody = std::function<void(bool ok, std::string_view text, std::string_view body)>;
  explicit OutcomeSink(DoneWithBody done)
      : done_([this, done = std::move(done)](bool ok, std::string_view text) {
          done(ok, text, body_);
        }) {}
  ~OutcomeSink() override { Done(false, "the invocation ended without an outcome"); }

  void Start(int status, std::string_view, runtime::HeaderList,
             std::optional<uint64_t>) override {
    status_ = status;
  }
  void Write(std::string_view chunk) override {
    if (body_.size() < max_body_) body_.append(chunk.substr(0, max_body_ - body_.size()));
  }
  // How much of the body is kept (4 KiB unless set; a workflow run's
  // report holds its steps' results).
  void SetMaxBody(size_t bytes) { max_body_ = bytes; }
  void Finish() override { Done(status_ < 400, body_); }
  void Fail(std::string_view public_reason, LimitKind) override { Done(false, public_reason); }
  bool Aborted() const override { return false; }
  bool NeedsDrain() const override { return false; }
  void OnDrain(std::function<void()> callback) override { callback(); }

 private:
  void Done(bool ok, std::string_view text) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(ok, text);
  }

  std::function<void(bool, std::string_view)> done_;
  int status_ = 0;
  size_t max_body_ = 4096;
  std::string body_;
};

}  // namespace edge::gateway
