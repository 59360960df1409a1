#include "runtime/websocket/websocket_pipe.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace edge::runtime {
namespace {

// Records what one end hears.
struct Heard {
  std::vector<std::string> messages;
  std::vector<std::string> closes;
  WebSocketChannel::Events Events() {
    WebSocketChannel::Events events;
    events.on_message = [this](std::string data, bool binary) {
      messages.push_back((binary ? "bin:" : "text:") + data);
    };
    events.on_close = [this](int code, std::string reason, bool clean) {
      closes.push_back(std::to_string(code) + ":" + reason + ":" + (clean ? "clean" : "unclean"));
    };
    return events;
  }
};

TEST(WebSocketPipe, MessagesGoToTheOtherEndAndWaitForStart) {
  auto [a, b] = NewWebSocketPipe();
  Heard heard_a, heard_b;
  a->Start(heard_a.Events());
  a->Send("before start", false);
  a->Send(std::string("\0\1", 2), true);
  EXPECT_TRUE(heard_b.messages.empty());
  b->Start(heard_b.Events());
  EXPECT_EQ(heard_b.messages, (std::vector<std::string>{"text:before start", std::string("bin:\0\1", 6)}));
  b->Send("back", false);
  EXPECT_EQ(heard_a.messages, std::vector<std::string>{"text:back"});
  EXPECT_EQ(a->BufferedBytes(), 0u);
}

TEST(WebSocketPipe, ACloseIsAnsweredForBothEndsOnce) {
  auto [a, b] = NewWebSocketPipe();
  Heard heard_a, heard_b;
  a->Start(heard_a.Events());
  b->Start(heard_b.Events());
  a->Close(4001, "bye");
  b->Close(1000, "late");
  a->Send("after", false);
  EXPECT_EQ(heard_a.closes, std::vector<std::string>{"4001:bye:clean"});
  EXPECT_EQ(heard_b.closes, std::vector<std::string>{"4001:bye:clean"});
  EXPECT_TRUE(heard_b.messages.empty());
  // No code: 1005, as a close frame without one.
  auto [c, d] = NewWebSocketPipe();
  Heard heard_d;
  d->Start(heard_d.Events());
  c->Close(0, "");
  EXPECT_EQ(heard_d.closes, std::vector<std::string>{"1005::clean"});
}

TEST(WebSocketPipe, ADroppedEndIs1006ForTheOther) {
  auto [a, b] = NewWebSocketPipe();
  Heard heard_b;
  b->Start(heard_b.Events());
  a.reset();
  EXPECT_EQ(heard_b.closes, std::vector<std::string>{"1006::unclean"});
}

}  // namespace
}  // namespace edge::runtime
