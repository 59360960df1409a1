// HttpConnection's output: the buffer flushed with uv_try_write (uv_write
// for the rest), TLS encryption, drain callbacks, the end of a response and
// the graceful close (lingering).
#include <memory>
#include <utility>

#include "base/log.h"
#include "gateway/http/connection_util.h"
#include "gateway/http/connection_writer.h"
#include "gateway/http/http_connection.h"
#include "gateway/http/websocket_session.h"

namespace edge::gateway {
namespace {

// Output waiting in the connection's buffer is written at once past this size.
constexpr size_t kFlushNowBytes = 64 * 1024;
// After the last response of a connection is written and the write side shut,
// input is drained for at most this long so the client reads the response
// instead of a reset.
constexpr uint64_t kLingerMs = 2000;
constexpr size_t kMaxSpareWrites = 4;

}  // namespace

void HttpConnection::RequestFlush() {
  if (state_ == State::kClosed) return;
  if (out_.size() >= kFlushNowBytes) {
    Flush();
    return;
  }
  if (batch_depth_ > 0 || flush_scheduled_) return;  // flushed at the end of the batch
  context_->ScheduleFlush(this);
}

size_t HttpConnection::BufferedBytes() const {
  return out_.size() + tls_out_.size() + tcp_.write_queue_size;
}

void HttpConnection::Flush() {
  if (state_ == State::kClosed) return;
  if (!tls_) {
    WriteOut(out_);
    return;
  }
  // The response bytes are encrypted now; what OpenSSL queued by itself
  // (handshake messages, session tickets, close_notify) goes out in order
  // with them.
  if (!out_.empty() && tls_->handshake_done()) {
    bool ok = tls_->Write(out_, &tls_out_);
    out_.clear();
    if (out_.capacity() > kMaxKeptCapacity) std::string().swap(out_);
    if (!ok) {
      Log(LogLevel::kDebug, "gateway: TLS error on the connection from {}: {}", remote_address_,
          tls_->error());
      CloseNow();
      return;
    }
  } else {
    tls_->TakeOutput(&tls_out_);
  }
  WriteOut(tls_out_);
}

// Writes `buffer` (out_, or tls_out_ over TLS) to the socket and leaves it
// empty: what uv_try_write does not take goes to a uv_write that owns it.
void HttpConnection::WriteOut(std::string& buffer) {
  if (state_ == State::kClosed || buffer.empty()) return;
  uv_stream_t* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  size_t offset = 0;
  if (tcp_.write_queue_size == 0) {
    uv_buf_t buf;
    buf.base = buffer.data();
    buf.len = buffer.size();
    int r = uv_try_write(stream, &buf, 1);
    if (r < 0 && r != UV_EAGAIN) {
      Fail("write", r);
      return;
    }
    if (r > 0) offset = static_cast<size_t>(r);
    if (offset == buffer.size()) {
      buffer.clear();
      if (buffer.capacity() > kMaxKeptCapacity) std::string().swap(buffer);
      return;
    }
  }
  std::unique_ptr<WriteRequest> write;
  if (!spare_writes_.empty()) {
    write = std::move(spare_writes_.back());
    spare_writes_.pop_back();
  } else {
    write = std::make_unique<WriteRequest>();
  }
  write->connection = this;
  write->data.swap(buffer);  // `buffer` takes the spare's empty one
  buffer.clear();
  write->req.data = write.get();
  uv_buf_t buf;
  buf.base = write->data.data() + offset;
  buf.len = write->data.size() - offset;
  WriteRequest* raw = write.release();
  int r = uv_write(&raw->req, stream, &buf, 1, [](uv_write_t* req, int status) {
    auto* w = static_cast<WriteRequest*>(req->data);
    w->connection->OnWriteDone(w, status);
  });
  if (r < 0) {
    delete raw;
    Fail("write", r);
  }
}

// After a failed handshake or a broken record: sends OpenSSL's alert if the
// socket takes it at once (no waiting on a peer that misbehaves), then closes.
void HttpConnection::SendTlsAlertAndClose() {
  std::string alert;
  tls_->TakeOutput(&alert);
  if (!alert.empty() && tcp_.write_queue_size == 0 && state_ != State::kClosed) {
    uv_buf_t buf = uv_buf_init(alert.data(), static_cast<unsigned int>(alert.size()));
    uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1);
  }
  CloseNow();
}

void HttpConnection::OnWriteDone(WriteRequest* request, int status) {
  std::unique_ptr<WriteRequest> owned(request);
  owned->data.clear();
  if (owned->data.capacity() <= kMaxKeptCapacity && spare_writes_.size() < kMaxSpareWrites) {
    spare_writes_.push_back(std::move(owned));
  }
  if (status == UV_ECANCELED || state_ == State::kClosed) return;
  if (status < 0) {
    Fail("write", status);
    return;
  }
  last_write_done_ms_ = uv_now(context_->loop);
  MaybeFireDrain();
}

void HttpConnection::MaybeFireDrain() {
  if (state_ == State::kUpgraded) {
    std::shared_ptr<WebSocketSession> websocket = websocket_;
    websocket->OnWritable();
    return;
  }
  if (writer_ == nullptr || !writer_->on_drain_ || BufferedBytes() >= kDrainThreshold) return;
  std::function<void()> callback = std::move(writer_->on_drain_);
  writer_->on_drain_ = nullptr;
  SafeCall(callback, "drain callback");
}

void HttpConnection::Fail(const char* what, int error) {
  Log(LogLevel::kDebug, "gateway: {} on the connection from {} failed: {}", what, remote_address_,
      uv_strerror(error));
  CloseNow();
}

void HttpConnection::OnResponseFinished(ConnectionWriter* writer) {
  if (writer_ == writer) writer_ = nullptr;
  if (state_ != State::kHandling) return;
  if (close_after_response_ || context_->shutting_down) {
    BeginLinger();
    return;
  }
  state_ = State::kReading;
  if (parser_paused_) {
    llhttp_resume(&parser_);
    parser_paused_ = false;
  }
  if (batch_depth_ == 0) Pump();
}

// Ends the connection gracefully: write what is queued, send FIN, then read
// and discard until the client closes too (or kLingerMs pass), so a client
// still sending does not get a reset that destroys the response.
void HttpConnection::BeginLinger() {
  if (state_ == State::kClosed || state_ == State::kLingering) return;
  state_ = State::kLingering;
  StopTimer();
  pending_.clear();
  Flush();
  if (state_ == State::kClosed) return;
  if (tls_) {
    // close_notify: the client can tell that the response ended here and
    // was not cut off.
    tls_->Shutdown();
    Flush();
    if (state_ == State::kClosed) return;
  }
  shutdown_req_.data = this;
  int r = uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_),
                      [](uv_shutdown_t* req, int status) {
                        auto* c = static_cast<HttpConnection*>(req->data);
                        if (status == UV_ECANCELED || c->state_ == State::kClosed) return;
                        if (status < 0) {
                          c->CloseNow();
                          return;
                        }
                        c->ArmTimer(TimerKind::kLinger, kLingerMs);
                      });
  if (r < 0) {
    CloseNow();
    return;
  }
  // Until the shutdown completes, the output is still being written: the
  // client must keep reading it (see OnTimer).
  ArmTimer(TimerKind::kLinger, limits().idle_timeout_ms);
  UpdateReading();
}

}  // namespace edge::gateway
