#include "gateway/node/thread_hop.h"

#include <string>

#include "base/log.h"
#include "gateway/http/http_types.h"

namespace edge::gateway {
namespace {

// A WebSocket accepted on the connection's thread for a worker on another:
// sends and closes go to the connection's thread in order, events come
// back to the worker's. BufferedBytes counts what is still on its way plus
// what the real channel last said.
class HoppingChannel : public runtime::WebSocketChannel {
 public:
  struct Shared {
    std::shared_ptr<runtime::WebSocketChannel> inner;  // the connection's thread only
    std::atomic<size_t> queued{0};
    std::atomic<size_t> inner_buffered{0};
  };

  HoppingChannel(PostFn to_connection, PostFn to_worker)
      : shared_(std::make_shared<Shared>()),
        to_connection_(std::move(to_connection)),
        to_worker_(std::move(to_worker)) {}
  ~HoppingChannel() override {
    to_connection_([shared = shared_] { shared->inner.reset(); });
  }

  const std::shared_ptr<Shared>& shared() const { return shared_; }
  // Accepting failed on the connection's thread: the worker sees the
  // connection end.
  void Refused() {
    if (!events_.on_close) return;
    auto on_close = std::move(events_.on_close);
    events_ = Events();
    on_close(1006, "", false);
  }

  void Start(Events events) override {
    events_ = std::move(events);
    // Events go back to the worker's thread, to this channel's events.
    std::weak_ptr<int> alive = alive_;
    HoppingChannel* self = this;
    PostFn to_worker = to_worker_;
    to_connection_([shared = shared_, to_worker, alive, self] {
      if (!shared->inner) return;
      Events hop;
      hop.on_message = [to_worker, alive, self](std::string data, bool binary) {
        to_worker([alive, self, data = std::move(data), binary]() mutable {
          if (alive.expired() || !self->events_.on_message) return;
          self->events_.on_message(std::move(data), binary);
        });
      };
      hop.on_close = [to_worker, alive, self](int code, std::string reason, bool clean) {
        to_worker([alive, self, code, reason = std::move(reason), clean]() mutable {
          if (alive.expired()) return;
          self->Closed(code, std::move(reason), clean);
        });
      };
      shared->inner->Start(std::move(hop));
    });
  }
  void Send(std::string_view data, bool binary) override {
    shared_->queued += data.size();
    to_connection_([shared = shared_, data = std::string(data), binary] {
      shared->queued -= data.size();
      if (!shared->inner) return;
      shared->inner->Send(data, binary);
      shared->inner_buffered = shared->inner->BufferedBytes();
    });
  }
  void Close(int code, std::string_view reason) override {
    to_connection_([shared = shared_, code, reason = std::string(reason)] {
      if (shared->inner) shared->inner->Close(code, reason);
    });
  }
  size_t BufferedBytes() const override {
    return shared_->queued.load() + shared_->inner_buffered.load();
  }
  void OnDrain(std::function<void()> callback) override {
    PostFn to_worker = to_worker_;
    to_connection_([shared = shared_, to_worker, callback = std::move(callback)]() mutable {
      auto back = [shared, to_worker, callback = std::move(callback)]() mutable {
        shared->inner_buffered = shared->inner ? shared->inner->BufferedBytes() : 0;
        to_worker(std::move(callback));
      };
      if (shared->inner) {
        shared->inner->OnDrain(std::move(back));
      } else {
        back();
      }
    });
  }
  void PauseReading(bool paused) override {
    to_connection_([shared = shared_, paused] {
      if (shared->inner) shared->inner->PauseReading(paused);
    });
  }

 private:
  void Closed(int code, std::string reason, bool clean) {
    if (!events_.on_close) return;
    auto on_close = std::move(events_.on_close);
    events_ = Events();
    on_close(code, std::move(reason), clean);
  }

  std::shared_ptr<Shared> shared_;
  PostFn to_connection_;
  PostFn to_worker_;
  Events events_;  // the worker's thread only
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

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
  StatusOr<std::shared_ptr<runtime::WebSocketChannel>> AcceptWebSocket(
      runtime::HeaderList headers) override {
    // Accepted on the connection's thread; a refusal there (the request
    // was no handshake) reaches the worker as a connection that ended.
    auto channel = std::make_shared<HoppingChannel>(to_connection_, to_worker_);
    std::weak_ptr<HoppingChannel> weak = channel;
    PostFn to_worker = to_worker_;
    std::shared_ptr<HoppingChannel::Shared> shared = channel->shared();
    Forward([headers = std::move(headers), shared, weak, to_worker](
                runtime::ResponseSink& sink) mutable {
      auto accepted = sink.AcceptWebSocket(std::move(headers));
      if (accepted.ok()) {
        shared->inner = std::move(accepted).value();
        return;
      }
      Log(LogLevel::kError, "gateway: {}", accepted.status().message());
      sink.Fail(accepted.status().message(), LimitKind::kNone);
      to_worker([weak] {
        if (auto channel = weak.lock()) channel->Refused();
      });
    });
    return std::shared_ptr<runtime::WebSocketChannel>(channel);
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
