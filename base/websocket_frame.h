// The WebSocket protocol (RFC 6455) as bytes: the opening handshake's key
// and accept values, and a frame reader and writer for either end of a
// connection. No I/O: the gateway's server side and the outbound client's
// client side feed it what they read and send what it produces.
//
// The reader enforces the rules a peer must keep, each failure naming the
// close code it calls for: frames from a client must be masked and frames
// from a server must not be (1002), no reserved bits (no extension is ever
// negotiated) and no unknown opcodes (1002), control frames at most 125
// bytes and never fragmented (1002), continuation frames only inside a
// fragmented message and no new message inside one (1002), a close payload
// of one byte or with a code a peer may not send (1002), text (whole
// messages and close reasons) valid UTF-8 (1007), and a message, however
// fragmented, at most `max_message_bytes` (1009) — checked from the frame
// headers, before the payload is buffered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace edge::base {

// Workers' limit on one WebSocket message (1 MiB).
inline constexpr size_t kWebSocketMaxMessageBytes = 1u << 20;

// Close codes (RFC 6455 section 7.4.1).
inline constexpr int kWsCloseNormal = 1000;
inline constexpr int kWsCloseGoingAway = 1001;
inline constexpr int kWsCloseProtocolError = 1002;
inline constexpr int kWsCloseNoStatus = 1005;    // never sent: "the close frame had no code"
inline constexpr int kWsCloseAbnormal = 1006;    // never sent: "no close frame at all"
inline constexpr int kWsCloseInvalidData = 1007;
inline constexpr int kWsClosePolicy = 1008;
inline constexpr int kWsCloseTooBig = 1009;
inline constexpr int kWsCloseInternalError = 1011;
inline constexpr int kWsCloseServiceRestart = 1012;
inline constexpr int kWsCloseTryAgainLater = 1013;

enum class WsOpcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// The Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
std::string WebSocketAccept(std::string_view key);
// Whether `key` is a valid Sec-WebSocket-Key: base64 of exactly 16 bytes.
bool IsValidWebSocketKey(std::string_view key);
// A fresh Sec-WebSocket-Key (16 random bytes, base64).
std::string NewWebSocketKey();
// Whether a peer may send `code` in a close frame (1000-1003, 1007-1014,
// 3000-4999; never 1005, 1006, 1015 or unassigned ones).
bool IsSendableCloseCode(int code);

// One frame, ready to write. `mask` is set by a client (every client frame
// is masked with fresh random bytes); a server never masks.
std::string EncodeWebSocketFrame(WsOpcode opcode, std::string_view payload, bool mask,
                                 bool fin = true);
// A close frame: no payload when `code` is 0 (the peer sees 1005), else the
// code and `reason` (truncated to what fits in a control frame).
std::string EncodeWebSocketClose(int code, std::string_view reason, bool mask);

// Reads frames from one peer. Feed what arrives; events come back through
// the Handler in order. After an error or a close frame the reader ignores
// everything that follows.
class WebSocketReader {
 public:
  enum class Role { kServer, kClient };  // which end of the connection we are
  class Handler {
   public:
    virtual ~Handler() = default;
    // A whole message (fragments reassembled); text was checked as UTF-8.
    virtual void OnMessage(std::string data, bool binary) = 0;
    virtual void OnPing(std::string_view payload) = 0;
    virtual void OnPong(std::string_view /*payload*/) {}
    // The peer's close frame: `code` 1005 when it carried none.
    virtual void OnClose(int code, std::string reason) = 0;
    // The peer broke the protocol: close with `code` (1002, 1007, 1009).
    virtual void OnProtocolError(int code, std::string reason) = 0;
  };

  WebSocketReader(Role role, Handler* handler,
                  size_t max_message_bytes = kWebSocketMaxMessageBytes)
      : role_(role), handler_(handler), max_message_bytes_(max_message_bytes) {}

  void Feed(std::string_view bytes);
  // An error or a close frame was read: nothing more will be reported.
  bool done() const { return done_; }
  // Bytes held for an incomplete frame or message.
  size_t buffered() const { return buffer_.size() + message_.size(); }

 private:
  void Fail(int code, std::string reason);
  // Parses one frame from the front of buffer_; false when more bytes are
  // needed (or after a failure).
  bool TakeFrame();
  void OnFrame(bool fin, WsOpcode opcode, std::string_view payload);

  const Role role_;
  Handler* const handler_;
  const size_t max_message_bytes_;
  std::string buffer_;
  size_t consumed_ = 0;  // bytes of buffer_ already parsed
  bool done_ = false;
  bool in_message_ = false;
  bool message_binary_ = false;
  std::string message_;
};

}  // namespace edge::base
