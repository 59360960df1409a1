// One accepted HTTP/1.1 connection: its socket, llhttp parser, timers and the
// response in progress. Internal to the gateway; HttpServer is the public face.
//
// A connection handles one request at a time. When a message is complete the
// parser is paused and the request is handed to the RequestHandler; bytes that
// arrive meanwhile (pipelined requests) are kept, up to 64 KiB, after which
// reading stops. When the response finishes, parsing resumes on what was kept.
// So pipelined requests are answered in order and buffering is bounded.
//
// Output is collected in one buffer and written with uv_try_write (falling back
// to uv_write with an owned buffer). Everything a handler writes synchronously
// while the connection is processing input goes out in one write at the end;
// writes from elsewhere are flushed from a uv_prepare handle before the loop
// next blocks, or at once when the response finishes or 64 KiB are waiting.
//
// A connection accepted on a TLS listener has a TlsSession between the socket
// and all of the above: what is read is decrypted first (into the same read
// buffer) and goes through the same input path; the output buffer is
// encrypted when it is flushed. Only the socket ever sees ciphertext.
#pragma once

#include <llhttp.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/http/http_types.h"
#include "gateway/http/server_context.h"
#include "gateway/http/tls_context.h"

namespace edge::gateway {

class ConnectionWriter;
class StreamedBody;
class WebSocketSession;

class HttpConnection {
 public:
  // Accepts one pending connection from `listener`, speaking TLS when `tls` is
  // set. The connection owns itself and is deleted once its handles are closed.
  static void Accept(const std::shared_ptr<ServerContext>& context, uv_stream_t* listener,
                     const std::shared_ptr<TlsContext>& tls);

  // The server is shutting down: close now when idle, else after the current
  // response.
  void BeginShutdown();
  // Closes at once; a response in progress is aborted.
  void CloseNow();
  // Writes out whatever is queued.
  void Flush();

  HttpConnection* prev_ = nullptr;
  HttpConnection* next_ = nullptr;
  bool flush_scheduled_ = false;

 private:
  friend class ConnectionWriter;
  friend class StreamedBody;
  friend class WebSocketSession;

  enum class State {
    kReading,    // parsing a request (or waiting for one); no response in progress
    kHandling,   // a request is with the handler; its response is not finished
    kUpgraded,   // a WebSocket after a 101: input goes to websocket_
    kLingering,  // done with HTTP: output flushed, write side shut, draining input
    kClosed,     // uv_close called
  };
  enum class TimerKind { kNone, kHandshake, kHeader, kBody, kIdle, kLinger, kWebSocketClose };

  struct WriteRequest {
    uv_write_t req;
    HttpConnection* connection;
    std::string data;
  };

  explicit HttpConnection(std::shared_ptr<ServerContext> context);
  ~HttpConnection();

  const ServerLimits& limits() const { return context_->limits; }

  // Input.
  void OnRead(ssize_t nread, const uv_buf_t* buf);
  void OnInput(const char* data, size_t length);
  void OnTlsInput(char* buffer, size_t length, size_t capacity);
  void OnReadEnd(ssize_t status);
  void Execute(const char* data, size_t length);
  void Pump();
  void UpdateReading();
  void Dispatch();
  int Reject(int status, std::string detail);
  void SendErrorAndClose(int status, std::string_view detail);

  // Output.
  void RequestFlush();
  size_t BufferedBytes() const;
  void WriteOut(std::string& buffer);
  void SendTlsAlertAndClose();
  void OnWriteDone(WriteRequest* request, int status);
  void Fail(const char* what, int error);
  void OnResponseFinished(ConnectionWriter* writer);
  void MaybeFireDrain();
  void BeginLinger();

  // Timers and teardown.
  void ArmTimer(TimerKind kind, uint64_t ms);
  void StopTimer();
  void OnTimer();
  void OnHandleClosed();

  // llhttp callbacks.
  static int OnMessageBegin(llhttp_t* parser);
  static int OnUrl(llhttp_t* parser, const char* at, size_t length);
  static int OnHeaderField(llhttp_t* parser, const char* at, size_t length);
  static int OnHeaderFieldComplete(llhttp_t* parser);
  static int OnHeaderValue(llhttp_t* parser, const char* at, size_t length);
  static int OnHeadersComplete(llhttp_t* parser);
  static int OnBody(llhttp_t* parser, const char* at, size_t length);
  static int OnMessageComplete(llhttp_t* parser);
  static const llhttp_settings_t& Settings();

  std::shared_ptr<ServerContext> context_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  uv_shutdown_t shutdown_req_;
  llhttp_t parser_;
  int open_handles_ = 0;

  State state_ = State::kReading;
  TimerKind timer_kind_ = TimerKind::kNone;
  // The uv timer is moved lazily: a request on a keep-alive connection arms
  // and stops the header and idle timeouts twice, and taking the timer out
  // of the loop's heap and putting it back each time cost about 4% of a
  // hello-world request. Stopping only sets timer_kind_ to kNone; arming
  // for a time no earlier than the one the uv timer waits for only sets
  // timer_due_ms_; when it fires early it waits for the rest.
  uint64_t timer_due_ms_ = 0;    // when timer_kind_ fires (uv_now clock)
  bool timer_armed_ = false;     // the uv timer is started...
  uint64_t timer_armed_ms_ = 0;  // ...for this time
  static void OnTimerFired(uv_timer_t* timer);
  bool reading_ = false;
  bool parser_paused_ = false;
  int batch_depth_ = 0;  // > 0 while processing input: output is flushed at the end
  std::string remote_address_;
  // TLS connections only: the session, and ciphertext on its way to the socket.
  std::unique_ptr<TlsSession> tls_;
  std::string tls_out_;

  // The request being parsed.
  HttpRequest request_;
  bool message_begun_ = false;
  bool headers_done_ = false;
  bool in_header_field_ = false;
  bool request_ready_ = false;
  bool request_keep_alive_ = true;
  bool is_head_ = false;
  size_t header_bytes_ = 0;        // request line + header fields, counted by the callbacks
  size_t header_phase_bytes_ = 0;  // bytes fed while the headers were incomplete
  size_t trailer_bytes_ = 0;
  int error_status_ = 0;  // set by a callback that rejects the request
  std::string error_detail_;
  // ServerLimits::stream_request_bodies: the body of the request being
  // parsed, and whether that request went to the handler before its body
  // was complete (the parser then goes on feeding the body while handling).
  std::shared_ptr<StreamedBody> streamed_body_;
  bool body_dispatched_ = false;
  size_t body_received_ = 0;

  // The Sec-WebSocket-Key of the request being handled when it is a valid
  // WebSocket handshake ("" otherwise), and the WebSocket once accepted.
  std::string websocket_key_;
  std::shared_ptr<WebSocketSession> websocket_;

  // Input that arrived while a request was being handled (pipelining).
  std::string pending_;
  std::string scratch_;

  // The response.
  ConnectionWriter* writer_ = nullptr;  // owned by the handler through shared_ptr
  bool close_after_response_ = false;
  std::string out_;
  std::vector<std::unique_ptr<WriteRequest>> spare_writes_;
  std::function<void()> abort_callback_;  // run once the handles are closed
  uint64_t last_write_done_ms_ = 0;
};

}  // namespace edge::gateway
