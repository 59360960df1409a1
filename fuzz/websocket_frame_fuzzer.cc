// The WebSocket frame reader (base/websocket_frame.h): every byte a client
// sends after its handshake (server role), and every byte a server sends to
// a worker's own WebSocket (client role).
//
// Byte 0: bit 0 picks the role; bits 1-2 the message limit (64 B, 1 KiB,
// 64 KiB or Workers' 1 MiB), so the 1009 path is reached; bits 3-7 the size
// of the pieces the rest is fed in (1-32 bytes; 0: all at once).
//
// Checked: the events are the same however the bytes are split (a frame cut
// anywhere reads the same); nothing is reported after a close or an error;
// text is valid UTF-8; a message is within the limit; a close code is 1005
// or one a peer may send; a protocol error is 1002, 1007 or 1009; the reader
// holds at most one unfinished frame and one unfinished message.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/utf8.h"
#include "base/websocket_frame.h"
#include "fuzz/fuzz_check.h"

using edge::base::WebSocketReader;

namespace {

class Recorder final : public WebSocketReader::Handler {
 public:
  explicit Recorder(size_t max_message_bytes) : max_(max_message_bytes) {}

  void OnMessage(std::string data, bool binary) override {
    Event();
    FUZZ_CHECK(data.size() <= max_, "a message over the limit was delivered");
    FUZZ_CHECK(binary || edge::base::IsValidUtf8(data), "a text message is not UTF-8");
    events.push_back((binary ? "binary:" : "text:") + data);
  }
  void OnPing(std::string_view payload) override {
    Event();
    FUZZ_CHECK(payload.size() <= 125, "a ping payload over 125 bytes");
    events.push_back("ping:" + std::string(payload));
  }
  void OnPong(std::string_view payload) override {
    Event();
    events.push_back("pong:" + std::string(payload));
  }
  void OnClose(int code, std::string reason) override {
    Event();
    FUZZ_CHECK(code == edge::base::kWsCloseNoStatus || edge::base::IsSendableCloseCode(code),
               "a close code a peer may not send was reported");
    FUZZ_CHECK(edge::base::IsValidUtf8(reason), "a close reason is not UTF-8");
    ended = true;
    events.push_back("close:" + std::to_string(code) + ":" + reason);
  }
  void OnProtocolError(int code, std::string reason) override {
    Event();
    FUZZ_CHECK(code == edge::base::kWsCloseProtocolError ||
                   code == edge::base::kWsCloseInvalidData || code == edge::base::kWsCloseTooBig,
               "a protocol error with an unexpected close code");
    FUZZ_CHECK(!reason.empty(), "a protocol error without a reason");
    ended = true;
    events.push_back("error:" + std::to_string(code));
  }

  std::vector<std::string> events;
  bool ended = false;

 private:
  void Event() { FUZZ_CHECK(!ended, "an event after the close or the error"); }
  size_t max_;
};

std::vector<std::string> Read(WebSocketReader::Role role, size_t max, std::string_view bytes,
                              size_t piece) {
  Recorder recorder(max);
  WebSocketReader reader(role, &recorder, max);
  if (piece == 0) piece = bytes.size() + 1;
  for (size_t at = 0; at < bytes.size(); at += piece) {
    reader.Feed(bytes.substr(at, piece));
    FUZZ_CHECK(reader.done() == recorder.ended, "done() disagrees with the events");
    // An unfinished frame (header and payload) and an unfinished message.
    if (!reader.done()) {
      FUZZ_CHECK(reader.buffered() <= 2 * max + 14, "the reader holds more than it may");
    }
  }
  return recorder.events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto role = (data[0] & 1) ? WebSocketReader::Role::kClient : WebSocketReader::Role::kServer;
  static constexpr size_t kLimits[] = {64, 1024, 64 * 1024, edge::base::kWebSocketMaxMessageBytes};
  size_t max = kLimits[(data[0] >> 1) & 3];
  size_t piece = data[0] >> 3;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> whole = Read(role, max, bytes, 0);
  std::vector<std::string> split = Read(role, max, bytes, piece);
  FUZZ_CHECK(whole == split, "the events depend on how the bytes were split");
  FUZZ_NOTE("%s, limit %zu, pieces of %zu: %zu events, last %s",
            role == WebSocketReader::Role::kClient ? "client" : "server", max, piece, whole.size(),
            whole.empty() ? "(none)" : whole.back().substr(0, 40).c_str());
  return 0;
}
