#include "base/websocket_frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace edge::base {
namespace {

struct Event {
  std::string kind;  // message, ping, pong, close, error
  std::string data;
  int code = 0;
  bool binary = false;
};

class Recorder : public WebSocketReader::Handler {
 public:
  void OnMessage(std::string data, bool binary) override {
    events.push_back({"message", std::move(data), 0, binary});
  }
  void OnPing(std::string_view payload) override { events.push_back({"ping", std::string(payload)}); }
  void OnPong(std::string_view payload) override { events.push_back({"pong", std::string(payload)}); }
  void OnClose(int code, std::string reason) override {
    events.push_back({"close", std::move(reason), code});
  }
  void OnProtocolError(int code, std::string reason) override {
    events.push_back({"error", std::move(reason), code});
  }
  std::vector<Event> events;
};

// A frame as a client sends it (masked) or a server (not), built by hand.
std::string Frame(uint8_t first, std::string_view payload, bool mask) {
  return EncodeWebSocketFrame(static_cast<WsOpcode>(first & 0x0F), payload, mask,
                              (first & 0x80) != 0);
}

TEST(WebSocketFrameTest, AcceptMatchesTheRfcExample) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(WebSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_TRUE(IsValidWebSocketKey("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_FALSE(IsValidWebSocketKey("dGhlIHNhbXBsZQ=="));  // 11 bytes
  EXPECT_FALSE(IsValidWebSocketKey("not base64 at all!!!!!!!"));
  EXPECT_TRUE(IsValidWebSocketKey(NewWebSocketKey()));
}

TEST(WebSocketFrameTest, ServerReadsMaskedTextAndBinary) {
  Recorder r;
  WebSocketReader reader(WebSocketReader::Role::kServer, &r);
  reader.Feed(Frame(0x81, "héllo", true) + Frame(0x82, std::string("\0\1\2", 3), true));
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].data, "héllo");
  EXPECT_FALSE(r.events[0].binary);
  EXPECT_EQ(r.events[1].data, std::string("\0\1\2", 3));
  EXPECT_TRUE(r.events[1].binary);
}

TEST(WebSocketFrameTest, ByteAtATimeAndLongLengths) {
  Recorder r;
  WebSocketReader reader(WebSocketReader::Role::kServer, &r);
  std::string medium(300, 'm'), large(70000, 'L');
  std::string wire = Frame(0x82, medium, true) + Frame(0x82, large, true);
  for (char c : wire) reader.Feed(std::string_view(&c, 1));
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].data, medium);
  EXPECT_EQ(r.events[1].data, large);
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(WebSocketFrameTest, UnmaskedClientFrameIs1002) {
  Recorder r;
  WebSocketReader reader(WebSocketReader::Role::kServer, &r);
  reader.Feed(Frame(0x81, "hi", false));
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].kind, "error");
  EXPECT_EQ(r.events[0].code, 1002);
  reader.Feed(Frame(0x81, "ignored", true));
  EXPECT_EQ(r.events.size(), 1u);
}

TEST(WebSocketFrameTest, MaskedServerFrameIs1002ForAClient) {
  Recorder r;
  WebSocketReader client(WebSocketReader::Role::kClient, &r);
  client.Feed(Frame(0x81, "ok", false));
  client.Feed(Frame(0x81, "bad", true));
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].data, "ok");
  EXPECT_EQ(r.events[1].code, 1002);
}

TEST(WebSocketFrameTest, FragmentsAreReassembledAroundControlFrames) {
  Recorder r;
  WebSocketReader reader(WebSocketReader::Role::kServer, &r);
  reader.Feed(Frame(0x01, "hel", true) + Frame(0x89, "p", true) + Frame(0x00, "lo ", true) +
              Frame(0x80, "world", true));
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].kind, "ping");
  EXPECT_EQ(r.events[0].data, "p");
  EXPECT_EQ(r.events[1].data, "hello world");
}

TEST(WebSocketFrameTest, FragmentationErrors) {
  {
    Recorder r;
    WebSocketReader reader(WebSocketReader::Role::kServer, &r);
    reader.Feed(Frame(0x80, "orphan", true));
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].code, 1002);
  }
  {
    Recorder r;
    WebSocketReader reader(WebSocketReader::Role::kServer, &r);
    reader.Feed(Frame(0x01, "a", true) + Frame(0x81, "b", true));
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].code, 1002);
  }
}

TEST(WebSocketFrameTest, ControlFrameRules) {
  {
    Recorder r;
    WebSocketReader reader(WebSocketReader::Role::kServer, &r);
    reader.Feed(Frame(0x09, "frag ping", true));  // FIN clear on a control frame
    EXPECT_EQ(r.events.at(0).code, 1002);
  }
  {
    Recorder r;
    WebSocketReader reader(WebSocketReader::Role::kServer, &r);
    reader.Feed(Frame(0x89, std::string(126, 'p'), true));
    EXPECT_EQ(r.events.at(0).code, 1002);
  }
  {
    Recorder r;
    WebSocketReader reader(WebSocketReader::Role::kServer, &r);
    reader.Feed(Frame(0x83, "x", true));  // reserved opcode
    EXPECT_EQ(r.events.at(0).code, 1002);
  }
  {
    Recorder r;
    WebSocketReader reader(WebSocketReader::Role::kServer, &r);
    std::string frame = Frame(0x81, "x", true);
    frame[0] = static_cast<char>(frame[0] | 0x40);  // RSV1
    reader.Feed(frame);
    EXPECT_EQ(r.events.at(0).code, 1002);
  }
}

TEST(WebSocketFrameTest, CloseFrames) {
  {
    Recorder r;
    WebSocketReader reader(WebSocketReader::Role::kServer, &r);
    reader.Feed(EncodeWebSocketClose(4000, "bye", true) + Frame(0x81, "after", true));
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].kind, "close");
    EXPECT_EQ(r.events[0].code, 4000);
    EXPECT_EQ(r.events[0].data, "bye");
    EXPECT_TRUE(reader.done());
  }
  {
    Recorder r;
    WebSocketReader reader(WebSocketReader::Role::kServer, &r);
    reader.Feed(EncodeWebSocketClose(0, "", true));
    EXPECT_EQ(r.events.at(0).code, 1005);
  }
  for (int bad : {999, 1004, 1005, 1006, 1015, 2000, 5000}) {
    Recorder r;
    WebSocketReader reader(WebSocketReader::Role::kServer, &r);
    reader.Feed(EncodeWebSocketClose(bad, "", true));
    EXPECT_EQ(r.events.at(0).kind, "error") << bad;
    EXPECT_EQ(r.events.at(0).code, 1002) << bad;
  }
  {
    Recorder r;
    WebSocketReader reader(WebSocketReader::Role::kServer, &r);
    reader.Feed(Frame(0x88, "x", true));  // one-byte payload
    EXPECT_EQ(r.events.at(0).code, 1002);
  }
  {
    Recorder r;
    WebSocketReader reader(WebSocketReader::Role::kServer, &r);
    reader.Feed(Frame(0x88, std::string("\x03\xe8\xff", 3), true));
    EXPECT_EQ(r.events.at(0).code, 1007);
  }
  // A long reason is cut to fit, on a character boundary.
  std::string reason;
  for (int i = 0; i < 100; ++i) reason += "é";
  std::string close = EncodeWebSocketClose(1000, reason, false);
  ASSERT_EQ(static_cast<uint8_t>(close[1]), 124u);  // 2 + 61 two-byte characters
  Recorder r;
  WebSocketReader client(WebSocketReader::Role::kClient, &r);
  client.Feed(close);
  EXPECT_EQ(r.events.at(0).kind, "close");
  EXPECT_EQ(r.events.at(0).data.size(), 122u);
}

TEST(WebSocketFrameTest, InvalidUtf8TextIs1007) {
  Recorder r;
  WebSocketReader reader(WebSocketReader::Role::kServer, &r);
  // Valid only as a whole would be fine; this is not valid at all.
  reader.Feed(Frame(0x01, "\xce", true) + Frame(0x80, "\xba\xff", true));
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].code, 1007);
  // A character split across fragments is valid.
  Recorder ok;
  WebSocketReader split(WebSocketReader::Role::kServer, &ok);
  split.Feed(Frame(0x01, "\xce", true) + Frame(0x80, "\xba", true));
  EXPECT_EQ(ok.events.at(0).data, "κ");
  // Binary messages are not checked.
  Recorder bin;
  WebSocketReader binary(WebSocketReader::Role::kServer, &bin);
  binary.Feed(Frame(0x82, "\xff\xfe", true));
  EXPECT_EQ(bin.events.at(0).kind, "message");
}

TEST(WebSocketFrameTest, OversizeIs1009FromTheHeaderAlone) {
  Recorder r;
  WebSocketReader reader(WebSocketReader::Role::kServer, &r, 1000);
  std::string frame = Frame(0x82, std::string(1001, 'x'), true);
  reader.Feed(frame.substr(0, 8));  // the header only: refused before the payload
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].code, 1009);
  // Fragments adding up past the limit.
  Recorder f;
  WebSocketReader fragmented(WebSocketReader::Role::kServer, &f, 1000);
  fragmented.Feed(Frame(0x02, std::string(600, 'a'), true));
  fragmented.Feed(Frame(0x80, std::string(600, 'b'), true));
  ASSERT_EQ(f.events.size(), 1u);
  EXPECT_EQ(f.events[0].code, 1009);
  // A 64-bit length with the top bit set.
  Recorder h;
  WebSocketReader huge(WebSocketReader::Role::kServer, &h);
  huge.Feed(std::string("\x82\xff\x80\0\0\0\0\0\0\0", 10));
  EXPECT_EQ(h.events.at(0).code, 1002);
  // Exactly at the limit is fine.
  Recorder e;
  WebSocketReader exact(WebSocketReader::Role::kServer, &e, 1000);
  exact.Feed(Frame(0x82, std::string(1000, 'x'), true));
  EXPECT_EQ(e.events.at(0).kind, "message");
}

TEST(WebSocketFrameTest, NonMinimalLengthIs1002) {
  Recorder r;
  WebSocketReader reader(WebSocketReader::Role::kClient, &r);
  reader.Feed(std::string("\x82\x7e\x00\x05hello", 9));
  EXPECT_EQ(r.events.at(0).code, 1002);
}

TEST(WebSocketFrameTest, EncodedClientFramesAreMaskedAndServerFramesAreNot) {
  std::string server = EncodeWebSocketFrame(WsOpcode::kText, "abc", false);
  EXPECT_EQ(server, std::string("\x81\x03" "abc", 5));
  std::string client = EncodeWebSocketFrame(WsOpcode::kText, "abc", true);
  ASSERT_EQ(client.size(), 9u);
  EXPECT_EQ(static_cast<uint8_t>(client[1]), 0x83u);
  Recorder r;
  WebSocketReader reader(WebSocketReader::Role::kServer, &r);
  reader.Feed(client);
  EXPECT_EQ(r.events.at(0).data, "abc");
}

}  // namespace
}  // namespace edge::base
