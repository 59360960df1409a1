// HTTP/1.1 message text (RFC 9110, RFC 9112), written once for the server
// (gateway/http), the outbound client behind fetch() (bindings/fetch/outbound)
// and the blocking client (base/http_client): tokens, the rules header
// values are checked against, optional white space, lists, reason phrases,
// dates and chunked framing. Parsing messages is llhttp's job.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

#include "base/ascii.h"

namespace edge::base {

// RFC 9110 tchar: ALPHA, DIGIT and !#$%&'*+-.^_`|~.
constexpr bool IsTokenChar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 &&
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// A token (a method, a header name): one tchar or more.
bool IsToken(std::string_view text);

// Three rules for header values, from strict to lenient; each caller keeps
// the one it has always applied.
//
// Printable ASCII (0x20 to 0x7E) and HTAB: what the blocking client lets a
// caller add to its requests.
bool IsPrintableFieldValue(std::string_view value);
// RFC 9110 field-value text: no control character but HTAB, no DEL (bytes
// from 0x80 up are obs-text, allowed). What the server sends: header values
// and reason phrases.
bool IsFieldText(std::string_view value);
// The Fetch standard's header value bytes: no NUL, CR or LF (the caller
// trims the surrounding white space). What fetch() sends.
bool IsFetchFieldValue(std::string_view value);

// `text` without the optional white space (spaces and HTABs) around it.
std::string_view TrimOws(std::string_view text);

// True when the comma-separated `list` (a Connection header, say) holds
// `token`, ignoring case and the white space around items.
bool HasToken(std::string_view list, std::string_view token);

// The standard reason phrase for `status` (RFC 9110 names), or "" when the
// status has none.
std::string_view ReasonPhrase(int status);

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") of a Unix time.
std::string FormatHttpDate(std::time_t time);
// The IMF-fixdate of now, formatted once per second per thread: valid until
// the thread's next call.
std::string_view HttpDateNow();

// Chunked transfer coding: appends one chunk (its size in hex, CRLF, the
// data, CRLF). `data` must not be empty: an empty chunk ends the body.
void AppendChunk(std::string& out, std::string_view data);
// The last chunk with no trailers: what ends a chunked body.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace edge::base
