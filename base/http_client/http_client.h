// A small blocking HTTP/1.1 client: what the command line uses to talk to a
// node's admin API (`edge deploy`, `edge secret`, `edge tail`) and what a
// PoP's SyncClient uses to tail its origin. One request per connection
// (`Connection: close`), over TCP or over TLS verified against the system's
// CA store. Every call blocks the calling thread: this is for the command
// line and for threads of their own, never for a server's event loop.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace edge::base {

// Ends the calls that use it, from any thread: a Request or Stream blocked
// in connecting, in a TLS handshake, in writing or in reading returns at
// once with a "cancelled" error (ErrorCode::kIo), and later calls with this
// token fail the same way without connecting. One token per run of work: it
// cannot be re-armed (make a new one).
class CancelToken {
 public:
  CancelToken();
  ~CancelToken();
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Any thread, any number of times.
  void Cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  // Internal to the client: a descriptor that polls readable once
  // cancelled, or -1 (then waits poll the flag every 200 ms).
  int wake_fd() const { return wake_fd_; }

 private:
  std::atomic<bool> cancelled_{false};
  int wake_fd_ = -1;
};

// The server to talk to and how.
struct HttpTarget {
  std::string url;    // http://host[:port][/base] or https://...
  std::string token;  // sent as `Authorization: Bearer <token>` when not empty
  // How long connecting to one address may take (0: no limit).
  int connect_timeout_ms = 10000;
  // How long any one wait for the socket (a write making progress, the next
  // bytes of the answer) may take (0: no limit). On a stream this bounds the
  // silence between two reads, so it should exceed the server's heartbeat.
  int io_timeout_ms = 60000;
  // Extra header fields sent with every request ("X-Edge-Pop-Id"). Names
  // must be HTTP tokens and values printable ASCII (spaces allowed); the
  // framing fields and Host, Authorization and Accept are set by the client.
  std::vector<std::pair<std::string, std::string>> headers = {};
  // The largest whole answer body Request accepts (streams are bounded per line).
  size_t max_response_bytes = 64u << 20;
  // When set, Cancel() on it ends calls with this target (see CancelToken).
  std::shared_ptr<CancelToken> cancel = nullptr;
};

// A server URL taken apart. IPv6 hosts are written in brackets in URLs
// ("http://[::1]:9001") and kept without them here.
struct HttpUrl {
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  std::string base_path;  // "" or "/prefix" (no trailing slash): put before every path
  // "host:port", brackets around an IPv6 host: what error messages name.
  std::string Authority() const;
  // The Host header: the authority without the scheme's default port.
  std::string HostHeader() const;
};

// Accepts http:// and https:// URLs with a host, an optional port (80 and
// 443 by default) and an optional base path. User info, queries and
// fragments are refused; so are spaces and control characters.
StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;
  // The first value of header `name` (case-insensitive), or "".
  std::string Header(std::string_view name) const;
};

// Sends one request: `method` `path` (below the URL's base path; it must
// start with '/' and be percent-encoded already) with `body`, and reads the
// whole answer (Content-Length, chunked or close-delimited). `content_type`
// is sent when not empty. Any HTTP status is a response; failures to
// connect, TLS errors, timeouts, cancellation and malformed answers are
// errors whose message names the server ("cannot connect to
// 127.0.0.1:9001: Connection refused").
StatusOr<HttpResponse> Request(const HttpTarget& target, std::string_view method,
                               std::string_view path, std::string_view body = {},
                               std::string_view content_type = {});

// Ok for a 2xx response; otherwise an error a person can act on: 401 and
// 403 say the token was missing or refused, other statuses give the
// server's `{"error": "..."}` text (or the start of the body when it sent
// no such JSON).
Status ResponseError(const HttpResponse& response);

// A request body read piece by piece, never whole in memory: `length`
// bytes (sent as Content-Length) from `read`, which fills up to `size`
// bytes of `buffer` and returns how many; 0 before `length` bytes, or an
// error, fails the request.
struct BodySource {
  uint64_t length = 0;
  std::function<StatusOr<size_t>(char* buffer, size_t size)> read;
};

// Sends `method` `path` with the body from `source` (null: none), and
// hands the body of a 2xx answer to `on_body` piece by piece as it arrives
// (false stops: then Ok, with the response as far as it came); any other
// answer is returned whole, for ResponseError. What else holds is as for
// Request.
StatusOr<HttpResponse> Transfer(const HttpTarget& target, std::string_view method,
                                std::string_view path, const BodySource* source,
                                std::string_view content_type,
                                const std::function<bool(std::string_view)>& on_body);

struct StreamOptions {
  // Polled about every 200 ms and whenever a signal interrupts a wait; once
  // it returns true the stream ends and Stream returns Ok. Null: never.
  // (To end a stream from another thread at once, use HttpTarget::cancel.)
  std::function<bool()> stop_requested;
  // Called once the server answered 2xx, before the first line.
  std::function<void()> on_connected;
  // The longest line accepted; a longer one is an error.
  size_t max_line_bytes = 16u << 20;
  // When set and the server answers other than 2xx, that whole answer is
  // stored here too (say, to read a 410's JSON body).
  HttpResponse* refusal = nullptr;
};

// GETs `path` and calls `on_line` for each complete line of the body as it
// arrives ("\n" or "\r\n" ends a line; the terminator is not passed; a last
// line without one is passed when the body ends). `on_line` returning false
// ends the stream (Ok). A non-2xx answer is returned as ResponseError says.
// The body ending normally is Ok as well: callers that expected more say so.
Status Stream(const HttpTarget& target, std::string_view path,
              const std::function<bool(std::string_view line)>& on_line,
              const StreamOptions& options = {});

// Splits a byte stream into lines ("\n", with a "\r" before it dropped).
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line_bytes = 16u << 20) : max_line_bytes_(max_line_bytes) {}
  // Calls `on_line` for each line completed by `bytes`. Returns false once
  // `on_line` did (the rest of `bytes` is dropped), or when a line grows
  // past the limit (then overflowed() is true).
  bool Feed(std::string_view bytes, const std::function<bool(std::string_view)>& on_line);
  // At the end of the stream: passes the unterminated last line, if any.
  bool Finish(const std::function<bool(std::string_view)>& on_line);
  bool overflowed() const { return overflowed_; }

 private:
  size_t max_line_bytes_;
  std::string pending_;
  bool overflowed_ = false;
};

// The token for a command: ReadTokenFile(token_file) (base/token_file.h)
// when one is given, else the EDGE_API_TOKEN environment variable without
// trailing white space; either must be printable ASCII.
StatusOr<std::string> ResolveToken(const std::string& token_file);

// `text` with every byte but RFC 3986's unreserved ones (A-Z a-z 0-9 - . _ ~)
// percent-encoded: for path segments and query values.
std::string PercentEncode(std::string_view text);

}  // namespace edge::base
