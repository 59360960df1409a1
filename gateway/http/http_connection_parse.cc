// HttpConnection's llhttp callbacks: the request being parsed, with the
// limits on its head and body applied as the bytes arrive.
#include <fmt/core.h>

#include <algorithm>
#include <memory>

#include "base/http_text.h"
#include "gateway/http/http_connection.h"
#include "gateway/http/streamed_body.h"

namespace edge::gateway {
namespace {

constexpr size_t kBodyReserveCap = 256 * 1024;
constexpr size_t kRequestLineOverhead = 16;  // method, spaces, version, CRLF
constexpr size_t kHeaderLineOverhead = 4;    // ": " and CRLF
constexpr size_t kReservedHeaders = 16;

HttpConnection* Self(llhttp_t* parser) { return static_cast<HttpConnection*>(parser->data); }

}  // namespace

const llhttp_settings_t& HttpConnection::Settings() {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = OnMessageBegin;
    s.on_url = OnUrl;
    s.on_header_field = OnHeaderField;
    s.on_header_field_complete = OnHeaderFieldComplete;
    s.on_header_value = OnHeaderValue;
    s.on_headers_complete = OnHeadersComplete;
    s.on_body = OnBody;
    s.on_message_complete = OnMessageComplete;
    return s;
  }();
  return settings;
}

// llhttp callbacks. They run inside llhttp_execute and only record what they
// see; the request is dispatched after llhttp_execute returns.

int HttpConnection::OnMessageBegin(llhttp_t* parser) {
  HttpConnection* c = Self(parser);
  c->message_begun_ = true;
  c->headers_done_ = false;
  c->in_header_field_ = false;
  c->header_bytes_ = kRequestLineOverhead;
  c->trailer_bytes_ = 0;
  if (c->request_.headers.capacity() < kReservedHeaders) {
    c->request_.headers.reserve(kReservedHeaders);
  }
  if (c->timer_kind_ != TimerKind::kHeader) {
    c->ArmTimer(TimerKind::kHeader, c->limits().header_timeout_ms);
  }
  return 0;
}

int HttpConnection::OnUrl(llhttp_t* parser, const char* at, size_t length) {
  HttpConnection* c = Self(parser);
  c->header_bytes_ += length;
  if (c->header_bytes_ > c->limits().max_header_bytes) {
    return c->Reject(
        431, fmt::format("request line and headers exceed {} bytes", c->limits().max_header_bytes));
  }
  c->request_.target.append(at, length);
  return 0;
}

int HttpConnection::OnHeaderField(llhttp_t* parser, const char* at, size_t length) {
  HttpConnection* c = Self(parser);
  size_t max = c->limits().max_header_bytes;
  if (c->headers_done_) {  // a trailer field of a chunked body: counted, not kept
    c->trailer_bytes_ += length + kHeaderLineOverhead;
    if (c->trailer_bytes_ > max) {
      return c->Reject(431, fmt::format("request trailers exceed {} bytes", max));
    }
    return 0;
  }
  c->header_bytes_ += length;
  if (!c->in_header_field_) {
    c->in_header_field_ = true;
    c->header_bytes_ += kHeaderLineOverhead;
    c->request_.headers.emplace_back();
  }
  if (c->header_bytes_ > max) {
    return c->Reject(431, fmt::format("request line and headers exceed {} bytes", max));
  }
  c->request_.headers.back().first.append(at, length);
  return 0;
}

int HttpConnection::OnHeaderFieldComplete(llhttp_t* parser) {
  Self(parser)->in_header_field_ = false;
  return 0;
}

int HttpConnection::OnHeaderValue(llhttp_t* parser, const char* at, size_t length) {
  HttpConnection* c = Self(parser);
  size_t max = c->limits().max_header_bytes;
  if (c->headers_done_) {
    c->trailer_bytes_ += length;
    if (c->trailer_bytes_ > max) {
      return c->Reject(431, fmt::format("request trailers exceed {} bytes", max));
    }
    return 0;
  }
  c->header_bytes_ += length;
  if (c->header_bytes_ > max) {
    return c->Reject(431, fmt::format("request line and headers exceed {} bytes", max));
  }
  if (!c->request_.headers.empty()) c->request_.headers.back().second.append(at, length);
  return 0;
}

int HttpConnection::OnHeadersComplete(llhttp_t* parser) {
  HttpConnection* c = Self(parser);
  const ServerLimits& limits = c->limits();
  c->headers_done_ = true;
  c->header_phase_bytes_ = 0;
  c->StopTimer();
  HttpRequest& request = c->request_;
  request.method = llhttp_method_name(static_cast<llhttp_method_t>(parser->method));
  request.http_major = parser->http_major;
  request.http_minor = parser->http_minor;
  c->request_keep_alive_ = llhttp_should_keep_alive(parser) != 0;
  // An upgrade request either becomes a WebSocket (the handler accepts
  // it: ConnectionWriter::AcceptWebSocket) or is answered like any other,
  // and the connection closes after it.
  if (parser->upgrade) c->request_keep_alive_ = false;
  request.keep_alive = c->request_keep_alive_;
  c->is_head_ = parser->method == HTTP_HEAD;

  const bool chunked = (parser->flags & F_CHUNKED) != 0;
  if (!chunked && (parser->flags & F_CONTENT_LENGTH) &&
      parser->content_length > limits.max_body_bytes) {
    c->Reject(413, fmt::format("declared Content-Length {} exceeds the limit of {} bytes",
                               parser->content_length, limits.max_body_bytes));
    return -1;
  }
  const bool has_body = chunked || parser->content_length > 0;
  if (has_body) {
    if (request.http_major == 1 && request.http_minor >= 1) {
      for (const auto& [name, value] : request.headers) {
        if (base::EqualsIgnoreCase(name, "expect") &&
            base::EqualsIgnoreCase(base::TrimOws(value), "100-continue")) {
          c->out_.append("HTTP/1.1 100 Continue\r\n\r\n");
          break;
        }
      }
    }
    c->body_received_ = 0;
    if (limits.stream_request_bodies) {
      c->streamed_body_ = std::make_shared<StreamedBody>(c);
      request.body_stream = c->streamed_body_;
    } else if (!chunked) {
      request.body.reserve(
          static_cast<size_t>(std::min<uint64_t>(parser->content_length, kBodyReserveCap)));
    }
    // The body must keep arriving: each read restarts this timer.
    c->ArmTimer(TimerKind::kBody, limits.idle_timeout_ms);
  }
  return 0;
}

int HttpConnection::OnBody(llhttp_t* parser, const char* at, size_t length) {
  HttpConnection* c = Self(parser);
  size_t max = c->limits().max_body_bytes;
  if (length > max || c->body_received_ > max - length) {
    return c->Reject(413, fmt::format("request body exceeds the limit of {} bytes", max));
  }
  c->body_received_ += length;
  if (c->streamed_body_) {
    c->streamed_body_->Deliver(std::string_view(at, length));
  } else {
    c->request_.body.append(at, length);
  }
  return 0;
}

int HttpConnection::OnMessageComplete(llhttp_t* parser) {
  HttpConnection* c = Self(parser);
  c->message_begun_ = false;
  c->headers_done_ = false;
  c->header_phase_bytes_ = 0;
  c->request_ready_ = true;
  c->StopTimer();
  if (c->streamed_body_) {
    c->streamed_body_->End();
    c->streamed_body_->Detach();
    c->streamed_body_.reset();
  }
  return HPE_PAUSED;  // one request at a time: Execute dispatches it
}

}  // namespace edge::gateway
