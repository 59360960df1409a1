#include "base/websocket_frame.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>

#include "base/base64.h"
#include "base/utf8.h"

namespace edge::base {
namespace {

constexpr std::string_view kHandshakeGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kMaxControlPayload = 125;

void RandomBytes(unsigned char* out, size_t length) {
  if (RAND_bytes(out, static_cast<int>(length)) != 1) {
    // OpenSSL's generator does not fail once seeded; if it ever did, a
    // predictable mask is still a valid frame (masking guards proxies, not
    // secrets).
    for (size_t i = 0; i < length; ++i) out[i] = static_cast<unsigned char>(i * 151 + 7);
  }
}

void AppendLength(std::string& out, uint8_t first, bool mask, size_t length) {
  out.push_back(static_cast<char>(first));
  const uint8_t mask_bit = mask ? 0x80 : 0;
  if (length < 126) {
    out.push_back(static_cast<char>(mask_bit | length));
  } else if (length <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(length >> 8));
    out.push_back(static_cast<char>(length & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((static_cast<uint64_t>(length) >> shift) & 0xFF));
    }
  }
}

bool IsControl(WsOpcode opcode) { return (static_cast<uint8_t>(opcode) & 0x8) != 0; }

}  // namespace

std::string WebSocketAccept(std::string_view key) {
  std::string input(key);
  input.append(kHandshakeGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

bool IsValidWebSocketKey(std::string_view key) {
  if (key.size() != 24) return false;
  StatusOr<std::string> decoded = Base64Decode(key);
  return decoded.ok() && decoded->size() == 16;
}

std::string NewWebSocketKey() {
  unsigned char bytes[16];
  RandomBytes(bytes, sizeof bytes);
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

bool IsSendableCloseCode(int code) {
  if (code >= 3000 && code <= 4999) return true;
  if (code >= 1000 && code <= 1003) return true;
  return code >= 1007 && code <= 1014;
}

std::string EncodeWebSocketFrame(WsOpcode opcode, std::string_view payload, bool mask, bool fin) {
  std::string out;
  out.reserve(payload.size() + 14);
  AppendLength(out, static_cast<uint8_t>((fin ? 0x80 : 0) | static_cast<uint8_t>(opcode)), mask,
               payload.size());
  if (!mask) {
    out.append(payload);
    return out;
  }
  unsigned char key[4];
  RandomBytes(key, sizeof key);
  out.append(reinterpret_cast<const char*>(key), sizeof key);
  size_t start = out.size();
  out.append(payload);
  for (size_t i = 0; i < payload.size(); ++i) out[start + i] ^= static_cast<char>(key[i & 3]);
  return out;
}

std::string EncodeWebSocketClose(int code, std::string_view reason, bool mask) {
  if (code == 0) return EncodeWebSocketFrame(WsOpcode::kClose, {}, mask);
  std::string payload;
  payload.push_back(static_cast<char>((code >> 8) & 0xFF));
  payload.push_back(static_cast<char>(code & 0xFF));
  if (reason.size() > kMaxControlPayload - 2) {
    // Cut at a character boundary so the reason stays valid UTF-8.
    size_t cut = kMaxControlPayload - 2;
    while (cut > 0 && (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80) --cut;
    reason = reason.substr(0, cut);
  }
  payload.append(reason);
  return EncodeWebSocketFrame(WsOpcode::kClose, payload, mask);
}

void WebSocketReader::Fail(int code, std::string reason) {
  done_ = true;
  buffer_.clear();
  message_.clear();
  consumed_ = 0;
  handler_->OnProtocolError(code, std::move(reason));
}

void WebSocketReader::Feed(std::string_view bytes) {
  if (done_) return;
  buffer_.append(bytes);
  while (!done_ && TakeFrame()) {
  }
  if (done_) return;
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
}

bool WebSocketReader::TakeFrame() {
  const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data()) + consumed_;
  size_t available = buffer_.size() - consumed_;
  if (available < 2) return false;
  const bool fin = (p[0] & 0x80) != 0;
  const uint8_t rsv = p[0] & 0x70;
  const auto opcode = static_cast<WsOpcode>(p[0] & 0x0F);
  const bool masked = (p[1] & 0x80) != 0;
  uint64_t length = p[1] & 0x7F;
  size_t header = 2;
  if (rsv != 0) {
    Fail(kWsCloseProtocolError, "reserved bits set without a negotiated extension");
    return false;
  }
  switch (opcode) {
    case WsOpcode::kContinuation:
    case WsOpcode::kText:
    case WsOpcode::kBinary:
    case WsOpcode::kClose:
    case WsOpcode::kPing:
    case WsOpcode::kPong:
      break;
    default:
      Fail(kWsCloseProtocolError, "unknown opcode");
      return false;
  }
  if (role_ == Role::kServer && !masked) {
    Fail(kWsCloseProtocolError, "a client frame was not masked");
    return false;
  }
  if (role_ == Role::kClient && masked) {
    Fail(kWsCloseProtocolError, "a server frame was masked");
    return false;
  }
  if (IsControl(opcode)) {
    if (!fin) {
      Fail(kWsCloseProtocolError, "a fragmented control frame");
      return false;
    }
    if (length > kMaxControlPayload) {
      Fail(kWsCloseProtocolError, "a control frame over 125 bytes");
      return false;
    }
  }
  if (length == 126) {
    if (available < 4) return false;
    length = (static_cast<uint64_t>(p[2]) << 8) | p[3];
    header = 4;
    if (length < 126) {
      Fail(kWsCloseProtocolError, "a frame length not in its shortest form");
      return false;
    }
  } else if (length == 127) {
    if (available < 10) return false;
    length = 0;
    for (int i = 2; i < 10; ++i) length = (length << 8) | p[i];
    header = 10;
    if ((length >> 63) != 0 || length <= 0xFFFF) {
      Fail(kWsCloseProtocolError, "an invalid frame length");
      return false;
    }
  }
  // The size check comes from the header, before any payload is held.
  if (!IsControl(opcode)) {
    uint64_t so_far = opcode == WsOpcode::kContinuation ? message_.size() : 0;
    if (length > max_message_bytes_ || so_far + length > max_message_bytes_) {
      Fail(kWsCloseTooBig, "a message over " + std::to_string(max_message_bytes_) + " bytes");
      return false;
    }
  }
  if (masked) header += 4;
  if (available < header + length) return false;
  const size_t payload_length = static_cast<size_t>(length);
  char* payload = buffer_.data() + consumed_ + header;
  if (masked) {
    const unsigned char* key = p + header - 4;
    for (size_t i = 0; i < payload_length; ++i) payload[i] ^= static_cast<char>(key[i & 3]);
  }
  consumed_ += header + payload_length;
  OnFrame(fin, opcode, std::string_view(payload, payload_length));
  return !done_;
}

void WebSocketReader::OnFrame(bool fin, WsOpcode opcode, std::string_view payload) {
  switch (opcode) {
    case WsOpcode::kPing:
      handler_->OnPing(payload);
      return;
    case WsOpcode::kPong:
      handler_->OnPong(payload);
      return;
    case WsOpcode::kClose: {
      if (payload.size() == 1) {
        Fail(kWsCloseProtocolError, "a close frame with a one-byte payload");
        return;
      }
      int code = kWsCloseNoStatus;
      std::string reason;
      if (payload.size() >= 2) {
        code = (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
        if (!IsSendableCloseCode(code)) {
          Fail(kWsCloseProtocolError, "an invalid close code");
          return;
        }
        std::string_view text = payload.substr(2);
        if (!IsValidUtf8(text)) {
          Fail(kWsCloseInvalidData, "a close reason that is not valid UTF-8");
          return;
        }
        reason.assign(text);
      }
      done_ = true;
      buffer_.clear();
      consumed_ = 0;
      message_.clear();
      handler_->OnClose(code, std::move(reason));
      return;
    }
    case WsOpcode::kContinuation:
      if (!in_message_) {
        Fail(kWsCloseProtocolError, "a continuation frame outside a fragmented message");
        return;
      }
      message_.append(payload);
      break;
    case WsOpcode::kText:
    case WsOpcode::kBinary:
      if (in_message_) {
        Fail(kWsCloseProtocolError, "a new message inside a fragmented one");
        return;
      }
      in_message_ = true;
      message_binary_ = opcode == WsOpcode::kBinary;
      message_.assign(payload);
      break;
    default:
      return;
  }
  if (!fin) return;
  in_message_ = false;
  std::string data;
  data.swap(message_);
  if (!message_binary_ && !IsValidUtf8(data)) {
    Fail(kWsCloseInvalidData, "a text message that is not valid UTF-8");
    return;
  }
  handler_->OnMessage(std::move(data), message_binary_);
}

}  // namespace edge::base
