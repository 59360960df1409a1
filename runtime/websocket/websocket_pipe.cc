#include "runtime/websocket/websocket_pipe.h"

#include <functional>
#include <string>
#include <vector>

namespace edge::runtime {
namespace {

struct PipeState {
  struct Side {
    WebSocketChannel::Events events;
    bool started = false;
    std::vector<std::function<void()>> early;  // events before Start
  };
  Side sides[2];
  bool closed = false;

  void Deliver(int side, std::function<void()> event) {
    Side& to = sides[side];
    if (!to.started) {
      to.early.push_back(std::move(event));
      return;
    }
    event();
  }
  void TellClose(int side, int code, std::string reason, bool clean) {
    Deliver(side, [this, side, code, reason = std::move(reason), clean]() mutable {
      auto on_close = std::move(sides[side].events.on_close);
      sides[side].events = WebSocketChannel::Events();
      if (on_close) on_close(code, std::move(reason), clean);
    });
  }
  // Both ends are told, once.
  void CloseBoth(int code, const std::string& reason, bool clean) {
    if (closed) return;
    closed = true;
    TellClose(0, code, reason, clean);
    TellClose(1, code, reason, clean);
  }
};

class PipeEnd final : public WebSocketChannel {
 public:
  PipeEnd(std::shared_ptr<PipeState> state, int side) : state_(std::move(state)), side_(side) {}
  ~PipeEnd() override {
    // Dropped while open: the other end sees the connection end.
    state_->CloseBoth(1006, "", /*clean=*/false);
  }

  void Start(Events events) override {
    PipeState::Side& mine = state_->sides[side_];
    if (mine.started) return;
    mine.started = true;
    mine.events = std::move(events);
    std::vector<std::function<void()>> early;
    early.swap(mine.early);
    // The state outlives these: each end holds it.
    std::shared_ptr<PipeState> keep = state_;
    for (auto& event : early) event();
  }
  void Send(std::string_view data, bool binary) override {
    if (state_->closed) return;
    int other = 1 - side_;
    std::shared_ptr<PipeState> state = state_;
    state_->Deliver(other, [state, other, data = std::string(data), binary]() mutable {
      auto& on_message = state->sides[other].events.on_message;
      if (on_message) on_message(std::move(data), binary);
    });
  }
  void Close(int code, std::string_view reason) override {
    state_->CloseBoth(code == 0 ? 1005 : code, std::string(reason), /*clean=*/true);
  }
  size_t BufferedBytes() const override { return 0; }
  void OnDrain(std::function<void()> callback) override { callback(); }
  void PauseReading(bool) override {}

 private:
  std::shared_ptr<PipeState> state_;
  int side_;
};

}  // namespace

std::pair<std::shared_ptr<WebSocketChannel>, std::shared_ptr<WebSocketChannel>> NewWebSocketPipe() {
  auto state = std::make_shared<PipeState>();
  return {std::make_shared<PipeEnd>(state, 0), std::make_shared<PipeEnd>(state, 1)};
}

}  // namespace edge::runtime
