// TLS for the gateway's listeners, with OpenSSL and no sockets: TlsContext
// holds the certificates (one SSL_CTX each, chosen by SNI) and makes a
// TlsSession per accepted connection; the session turns ciphertext from the
// socket into plaintext and back through memory BIOs, so the connection keeps
// driving all I/O with libuv and nothing ever blocks.
//
// Threading: a TlsContext is immutable once created and may be shared by the
// servers of several loops. A TlsSession belongs to one connection and is
// used on that connection's loop thread only.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace edge::gateway {

class TlsSession;

// One certificate and the host names it serves. A name is matched exactly
// (ignoring case), or "*.b.example" matches exactly one label in front of
// "b.example" ("x.b.example", not "b.example" nor "y.x.b.example").
struct TlsCertificate {
  std::vector<std::string> hosts;
  std::string cert_path;  // PEM: the certificate, then its chain
  std::string key_path;   // PEM private key
};

class TlsContext : public std::enable_shared_from_this<TlsContext> {
 public:
  // Loads every certificate and key now (blocking file reads: call at
  // start-up). The first certificate also serves clients that send no SNI
  // or a name that none lists. Errors name the file and what OpenSSL said.
  static StatusOr<std::shared_ptr<TlsContext>> Create(
      const std::vector<TlsCertificate>& certificates);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A server session for one accepted connection. It keeps this context alive.
  StatusOr<std::unique_ptr<TlsSession>> NewSession();

  // The index (in Create's list) of the certificate for `server_name`: 0
  // when none matches. A trailing dot is ignored.
  size_t Select(std::string_view server_name) const;

 private:
  TlsContext() = default;
  Status Add(const TlsCertificate& certificate);
  static int OnServerName(SSL* ssl, int* alert, void* arg);

  std::vector<SSL_CTX*> contexts_;  // owned; one per certificate, in order
  // Lower-case exact names, and wildcard suffixes ("b.example" for
  // "*.b.example"), to the index of their certificate. The first listing wins.
  std::unordered_map<std::string, size_t> exact_;
  std::unordered_map<std::string, size_t> wildcard_;
};

// The TLS state of one server connection. Ciphertext read from the socket
// goes in with Feed; ciphertext to send collects in the session and comes
// out with TakeOutput (after Handshake, Read, Write and Shutdown alike).
class TlsSession {
 public:
  enum class Result {
    kOk,         // done (Read: some plaintext)
    kWantInput,  // nothing more until more ciphertext is fed
    kClosed,     // Read: the peer sent close_notify
    kError,      // fatal; error() says why; TakeOutput may hold an alert
  };

  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Ciphertext received from the peer (copied).
  void Feed(const char* data, size_t length);
  // Advances the handshake with what was fed: kOk once it is complete.
  Result Handshake();
  bool handshake_done() const { return handshake_done_; }
  // Decrypts up to `capacity` bytes of application data. After the handshake.
  Result Read(char* buffer, size_t capacity, size_t* length);
  // Encrypts all of `plaintext` and appends the records, with any other
  // pending output, to `ciphertext`. After the handshake; false on error.
  bool Write(std::string_view plaintext, std::string* ciphertext);
  // Queues a close_notify alert (our side is done sending).
  void Shutdown();
  // Appends the ciphertext waiting to be sent to `out`.
  void TakeOutput(std::string* out);

  // The SNI name the client sent, as sent; "" when none.
  const std::string& server_name() const { return server_name_; }
  // Why the last kError happened, in OpenSSL's words.
  const std::string& error() const { return error_; }

 private:
  friend class TlsContext;
  TlsSession(std::shared_ptr<TlsContext> context, SSL* ssl, BIO* input, BIO* output);
  // Classifies a failed call (its return value `ret`); records error() if fatal.
  Result Fail(int ret);

  std::shared_ptr<TlsContext> context_;  // its callbacks run during the handshake
  SSL* ssl_;
  BIO* input_;   // owned by ssl_: ciphertext from the peer
  BIO* output_;  // owned by ssl_: ciphertext for the peer
  bool handshake_done_ = false;
  std::string server_name_;
  std::string error_;
};

}  // namespace edge::gateway
