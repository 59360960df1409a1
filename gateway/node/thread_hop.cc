#include "gateway/node/thread_hop.h"

#include <string>

#include "gateway/http/http_types.h"

namespace edge::gateway {
namespace {

class HoppingSink : public runtime::ResponseSink,
                    public std::enable_shared_from_this<HoppingSink> {
 public:
  HoppingSink(std::shared_ptr<runtime::ResponseSink> inner, PostFn to_connection,
              PostFn to_worker)
      : state_(std::make_shared<State>()),
        inner_(std::move(inner)),
        to_connection_(std::move(to_connection)),
        to_worker_(std::move(to_worker)) {}
  // The connection's sink belongs to its thread: the last reference goes
  // there too.
  ~HoppingSink() override { to_connection_([inner = std::move(inner_)] {}); }

  void Start(int status, std::string_view status_text, runtime::HeaderList headers,
             std::optional<uint64_t> content_length) override {
    Forward([status, text = std::string(status_text), headers = std::move(headers),
             content_length](runtime::ResponseSink& sink) mutable {
      sink.Start(status, text, std::move(headers), content_length);
    });
  }
  void Write(std::string_view chunk) override {
    state_->queued += chunk.size();
    Forward([chunk = std::string(chunk), state = state_](runtime::ResponseSink& sink) {
      state->queued -= chunk.size();
      sink.Write(chunk);
    });
  }
  void Finish() override {
    Forward([](runtime::ResponseSink& sink) { sink.Finish(); });
  }
  void Fail(std::string_view public_reason, LimitKind limit) override {
    Forward([reason = std::string(public_reason), limit](runtime::ResponseSink& sink) {
      sink.Fail(reason, limit);
    });
  }
  void ReportCpu(uint64_t cpu_ns) override {
    Forward([cpu_ns](runtime::ResponseSink& sink) { sink.ReportCpu(cpu_ns); });
  }
  bool OnConsole(std::string_view level, std::string_view message) override {
    Forward([level = std::string(level), message = std::string(message)](
                runtime::ResponseSink& sink) { sink.OnConsole(level, message); });
    return true;  // the connection's sink logs it
  }
  void OnUncaughtException(std::string_view description) override {
    Forward([description = std::string(description)](runtime::ResponseSink& sink) {
      sink.OnUncaughtException(description);
    });
  }
  bool Aborted() const override { return state_->aborted.load(); }
  bool NeedsDrain() const override {
    return state_->queued.load() >= kWriterDrainThreshold || state_->inner_needs_drain.load();
  }
  void OnDrain(std::function<void()> callback) override {
    PostFn to_worker = to_worker_;
    to_connection_([inner = inner_, state = state_, to_worker,
                    callback = std::move(callback)]() mutable {
      auto back = [to_worker, callback = std::move(callback)]() mutable {
        to_worker(std::move(callback));
      };
      if (inner->NeedsDrain()) {
        inner->OnDrain([state, back = std::move(back)]() mutable {
          state->inner_needs_drain = false;
          back();
        });
      } else {
        back();
      }
    });
  }

 private:
  struct State {
    std::atomic<size_t> queued{0};
    std::atomic<bool> aborted{false};
    std::atomic<bool> inner_needs_drain{false};
  };

  template <typename Call>
  void Forward(Call call) {
    to_connection_([inner = inner_, state = state_, call = std::move(call)]() mutable {
      call(*inner);
      state->aborted = inner->Aborted();
      state->inner_needs_drain = inner->NeedsDrain();
    });
  }

  std::shared_ptr<State> state_;
  std::shared_ptr<runtime::ResponseSink> inner_;
  PostFn to_connection_;
  PostFn to_worker_;
};

class HoppingBody : public runtime::RequestBodySource {
 public:
  HoppingBody(std::shared_ptr<runtime::RequestBodySource> inner, PostFn to_connection,
              PostFn to_worker)
      : inner_(std::move(inner)),
        to_connection_(std::move(to_connection)),
        to_worker_(std::move(to_worker)) {}
  ~HoppingBody() override { to_connection_([inner = std::move(inner_)] {}); }

  void Read(Reader reader) override {
    auto target = std::make_shared<Reader>(std::move(reader));
    PostFn to_worker = to_worker_;
    to_connection_([inner = inner_, target, to_worker] {
      Reader hop;
      hop.on_data = [target, to_worker](std::string_view chunk) {
        to_worker([target, chunk = std::string(chunk)] {
          if (target->on_data) target->on_data(chunk);
        });
      };
      hop.on_end = [target, to_worker] {
        to_worker([target] {
          if (target->on_end) target->on_end();
        });
      };
      hop.on_error = [target, to_worker](std::string_view error) {
        to_worker([target, error = std::string(error)] {
          if (target->on_error) target->on_error(error);
        });
      };
      inner->Read(std::move(hop));
    });
  }
  void Pause(bool paused) override {
    to_connection_([inner = inner_, paused] { inner->Pause(paused); });
  }

 private:
  std::shared_ptr<runtime::RequestBodySource> inner_;
  PostFn to_connection_;
  PostFn to_worker_;
};

}  // namespace

std::shared_ptr<runtime::ResponseSink> HopSink(std::shared_ptr<runtime::ResponseSink> inner,
                                               PostFn to_connection, PostFn to_worker) {
  return std::make_shared<HoppingSink>(std::move(inner), std::move(to_connection),
                                       std::move(to_worker));
}

std::shared_ptr<runtime::RequestBodySource> HopBody(
    std::shared_ptr<runtime::RequestBodySource> inner, PostFn to_connection, PostFn to_worker) {
  return std::make_shared<HoppingBody>(std::move(inner), std::move(to_connection),
                                       std::move(to_worker));
}

}  // namespace edge::gateway
