// cloudflare:sockets from a worker (bindings/sockets/sockets.js over
// socket_natives.cc and socket_connection.cc) against local TCP servers:
// plain and TLS echo, STARTTLS, a peer that closes, one that floods, one
// that counts; the limits (6 open, subrequests, the address policy, port
// 25) and what a hostile worker can do to the API.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/http_client/testing/test_server.h"
#include "bindings/binding_services.h"
#include "bindings/bindings.h"
#include "bindings/fetch/outbound/client.h"
#include "runtime/isolate_data.h"
#include "runtime/testing/worker_fixture.h"

namespace edge::bindings {
namespace {

// What a test server does with each connection.
enum class Mode {
  kEcho,      // echoes; at the client's end of data, ends its own
  kStartTls,  // echoes in the clear until "STARTTLS\n", answers "GO\n", then TLS echo
  kBye,       // sends "bye" and closes
  kFlood,     // sends as fast as the client takes it, until the client goes
  kCount,     // reads to the end, then answers the number of bytes
  kHold,      // reads and drops until the client goes, then notes it
};

// A blocking TCP server on 127.0.0.1, a thread per connection; with a TLS
// context, kEcho speaks TLS from the start.
class SocketServer {
 public:
  SocketServer(Mode mode, SSL_CTX* tls = nullptr) : mode_(mode), tls_(tls) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    listen(listen_fd_, 64);
    socklen_t length = sizeof address;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~SocketServer() {
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    accept_thread_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    }
    for (auto& thread : threads_) thread.join();
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }
  int closed_by_client() const { return closed_by_client_; }
  uint64_t flooded() const { return flooded_; }

 private:
  void AcceptLoop() {
    for (;;) {
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      if (stopping_) {
        close(fd);
        return;
      }
      ++accepted_;
      std::lock_guard<std::mutex> lock(mu_);
      fds_.push_back(fd);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  // Plain or TLS reads and writes on one connection.
  struct Conn {
    int fd;
    SSL* ssl = nullptr;
    ssize_t Read(char* buf, size_t n) {
      if (ssl != nullptr) {
        int r = SSL_read(ssl, buf, static_cast<int>(n));
        return r > 0 ? r : 0;
      }
      ssize_t r = recv(fd, buf, n, 0);
      return r > 0 ? r : 0;
    }
    bool Write(const char* buf, size_t n) {
      while (n > 0) {
        ssize_t r = ssl != nullptr ? SSL_write(ssl, buf, static_cast<int>(n))
                                   : send(fd, buf, n, MSG_NOSIGNAL);
        if (r <= 0) return false;
        buf += r;
        n -= static_cast<size_t>(r);
      }
      return true;
    }
    bool Accept(SSL_CTX* context) {
      ssl = SSL_new(context);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) return true;
      ERR_clear_error();
      return false;
    }
    void EndWrites() {
      if (ssl != nullptr) SSL_shutdown(ssl);
      shutdown(fd, SHUT_WR);
    }
  };

  void Serve(int fd) {
    Conn c{fd};
    char buf[16384];
    if (tls_ != nullptr && mode_ == Mode::kEcho && !c.Accept(tls_)) {
      Finish(c);
      return;
    }
    switch (mode_) {
      case Mode::kEcho:
        for (ssize_t n; (n = c.Read(buf, sizeof buf)) > 0;) {
          if (!c.Write(buf, static_cast<size_t>(n))) break;
        }
        c.EndWrites();
        break;
      case Mode::kStartTls: {
        std::string seen;
        for (ssize_t n; (n = c.Read(buf, 1)) > 0;) {
          seen.append(buf, static_cast<size_t>(n));
          if (seen.ends_with("STARTTLS\n")) break;
          if (seen.ends_with("\n")) {
            c.Write(seen.data(), seen.size());
            seen.clear();
          }
        }
        if (!seen.ends_with("STARTTLS\n") || !c.Write("GO\n", 3) || !c.Accept(tls_)) break;
        for (ssize_t n; (n = c.Read(buf, sizeof buf)) > 0;) {
          if (!c.Write(buf, static_cast<size_t>(n))) break;
        }
        c.EndWrites();
        break;
      }
      case Mode::kBye:
        c.Write("bye", 3);
        break;
      case Mode::kFlood: {
        std::string block(sizeof buf, 'f');
        while (!stopping_) {
          ssize_t r = send(fd, block.data(), block.size(), MSG_NOSIGNAL);
          if (r <= 0) break;
          flooded_ += static_cast<uint64_t>(r);
        }
        break;
      }
      case Mode::kCount: {
        uint64_t total = 0;
        for (ssize_t n; (n = c.Read(buf, sizeof buf)) > 0;) total += static_cast<uint64_t>(n);
        std::string answer = std::to_string(total);
        c.Write(answer.data(), answer.size());
        c.EndWrites();
        break;
      }
      case Mode::kHold:
        while (c.Read(buf, sizeof buf) > 0) {
        }
        ++closed_by_client_;
        break;
    }
    Finish(c);
  }

  void Finish(Conn& c) {
    if (c.ssl != nullptr) SSL_free(c.ssl);
    std::lock_guard<std::mutex> lock(mu_);
    std::erase(fds_, c.fd);
    close(c.fd);
  }

  Mode mode_;
  SSL_CTX* tls_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> closed_by_client_{0};
  std::atomic<uint64_t> flooded_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
};

// A server-side TLS context with `cert` and `key`.
SSL_CTX* ServerContext(const std::string& cert, const std::string& key) {
  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate_chain_file(context, cert.c_str());
  SSL_CTX_use_PrivateKey_file(context, key.c_str(), SSL_FILETYPE_PEM);
  return context;
}

// testBufferBytes(): the isolate's ArrayBuffer bytes (its memory budget's
// buffers, which count what sockets hold).
runtime::NativeResult TestBufferBytes(runtime::NativeCall& call) {
  runtime::BufferAllocator* allocator = call.data().buffer_allocator();
  double bytes = allocator == nullptr ? 0 : static_cast<double>(allocator->buffer_bytes());
  return v8::Number::New(call.isolate(), bytes).As<v8::Value>();
}

// The worker every test runs: a route per scenario, each answering text.
// `A` is the address the test passes (?a=), `P` its port (?p=).
constexpr const char* kWorker = R"JS(
import { connect } from "cloudflare:sockets";
import * as all from "cloudflare:sockets";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function readAll(readable, until = () => false) {
  const reader = readable.getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
    if (until(text)) break;
  }
  reader.releaseLock();
  return text;
}

function why(error) {
  return `${error.constructor.name}: ${error.message}`;
}

async function settled(promise) {
  try { const value = await promise; return `ok:${JSON.stringify(value ?? null)}`; } catch (e) { return why(e); }
}

const routes = {
  async echo(A) {
    const socket = connect(A);
    const writer = socket.writable.getWriter();
    await writer.write(encoder.encode("hello"));
    const text = await readAll(socket.readable, (t) => t.length >= 5);
    const info = await socket.opened;
    await socket.close();
    await socket.closed;
    return [text, info.remoteAddress, String(info.localAddress), socket.secureTransport,
            socket.upgraded, Object.keys(all).join(",")].join("|");
  },
  async halfOpen(A, P) {
    const socket = connect({ hostname: "127.0.0.1", port: P }, { allowHalfOpen: true });
    const writer = socket.writable.getWriter();
    await writer.write(encoder.encode("abc"));
    await writer.write(new Uint16Array([0x6564]));  // "de"
    await writer.close();
    const text = await readAll(socket.readable);
    await socket.closed;
    return `${text}|closed`;
  },
  async peerCloses(A) {
    const socket = connect(A);
    const text = await readAll(socket.readable);
    await socket.closed;
    const write = await settled(socket.writable.getWriter().write(encoder.encode("late")));
    return `${text}|closed|${write}`;
  },
  async tls(A) {
    const socket = connect(A, { secureTransport: "on" });
    const writer = socket.writable.getWriter();
    await writer.write(encoder.encode("secret"));
    const text = await readAll(socket.readable, (t) => t.length >= 6);
    await socket.close();
    return `${text}|${socket.secureTransport}`;
  },
  async badTls(A) {
    const socket = connect(A, { secureTransport: "on" });
    return `${await settled(socket.opened)}|${await settled(socket.closed)}`;
  },
  async startTls(A) {
    const socket = connect(A, { secureTransport: "starttls" });
    const writer = socket.writable.getWriter();
    await writer.write(encoder.encode("plain\n"));
    const reader = socket.readable.getReader();
    let text = "";
    while (!text.includes("plain\n")) text += decoder.decode((await reader.read()).value);
    await writer.write(encoder.encode("STARTTLS\n"));
    while (!text.includes("GO\n")) text += decoder.decode((await reader.read()).value);
    reader.releaseLock();
    writer.releaseLock();
    const secure = socket.startTls();
    let again = "none";
    try { socket.startTls(); } catch (e) { again = why(e); }
    // Written before the handshake is done: it waits for it.
    const w = secure.writable.getWriter();
    const written = w.write(encoder.encode("over tls"));
    await secure.opened;
    await written;
    const got = await readAll(secure.readable, (t) => t.length >= 8);
    await socket.closed;
    await secure.close();
    return [text.replace(/\n/g, "/"), got, socket.upgraded, secure.secureTransport, again].join("|");
  },
  async startTlsRefused(A) {
    const plain = connect(A);
    let a = "none";
    try { plain.startTls(); } catch (e) { a = why(e); }
    await plain.close();
    const secure = connect(A, { secureTransport: "on" });
    let b = "none";
    try { secure.startTls(); } catch (e) { b = why(e); }
    await secure.close();
    return `${a}|${b}`;
  },
  async refused(A) {
    const socket = connect(A);
    return `${await settled(socket.opened)}|${await settled(socket.closed)}|${await settled(socket.readable.getReader().read())}`;
  },
  async limit(A) {
    const sockets = [];
    for (let i = 0; i < 6; i++) sockets.push(connect(A));
    await Promise.all(sockets.map((s) => s.opened));
    let seventh = "none";
    try { connect(A); } catch (e) { seventh = why(e); }
    await sockets[0].close();
    const again = connect(A);
    await again.opened;
    for (const s of sockets) await s.close();
    await again.close();
    return seventh + "|again";
  },
  async arguments(A, P) {
    const out = [];
    const tries = [
      () => connect(),
      () => connect("127.0.0.1"),
      () => connect(":80"),
      () => connect("127.0.0.1:"),
      () => connect("127.0.0.1:99999"),
      () => connect("127.0.0.1:0"),
      () => connect("a b:80"),
      () => connect("x".repeat(300) + ":80"),
      () => connect({ hostname: "127.0.0.1" }),
      () => connect({ port: 80 }),
      () => connect({ hostname: "127.0.0.1", port: 1.5 }),
      () => connect(A, { secureTransport: "maybe" }),
      () => connect(A, 5),
      () => connect(Symbol("x")),
    ];
    for (const t of tries) {
      try { t(); out.push("no error"); } catch (e) { out.push(why(e)); }
    }
    return out.join("\n");
  },
  async hostile(A, P) {
    const out = [];
    // A poisoned realm: accessors on Object.prototype, a patched then.
    Object.defineProperty(Object.prototype, "remoteAddress", { set() { throw new Error("setter ran"); }, configurable: true });
    Object.defineProperty(Object.prototype, "secureTransport", { get() { throw new Error("getter ran"); }, configurable: true });
    Object.defineProperty(Object.prototype, "allowHalfOpen", { get() { throw new Error("getter ran"); }, configurable: true });
    const then = Promise.prototype.then;
    Promise.prototype.then = function (a, b) { return then.call(this, a, b); };
    try {
      const socket = connect(A, { __proto__: null });
      const writer = socket.writable.getWriter();
      await writer.write(encoder.encode("poison"));
      const reader = socket.readable.getReader();
      let text = "";
      while (text.length < 6) text += decoder.decode((await reader.read()).value);
      const info = await socket.opened;
      await socket.close();
      out.push(text + " " + info.remoteAddress);
    } finally {
      delete Object.prototype.remoteAddress;
      delete Object.prototype.secureTransport;
      delete Object.prototype.allowHalfOpen;
      Promise.prototype.then = then;
    }
    // A setter on Array.prototype[0]: connect(), opened and close() are
    // unaffected (the streams' own queues are not: the worker's own loss).
    Object.defineProperty(Array.prototype, "0", { set() { throw new Error("array setter ran"); }, configurable: true });
    try {
      const socket = connect(A);
      const info = await socket.opened;
      await socket.close();
      out.push("opened " + info.remoteAddress);
    } catch (e) {
      out.push(why(e));
    }
    delete Array.prototype[0];
    // A patched array iterator or Promise[Symbol.species] breaks the streams
    // a Socket is made of (the worker's own loss): connect() throws before
    // any connection is made.
    const iterator = Array.prototype[Symbol.iterator];
    Array.prototype[Symbol.iterator] = function () { throw new Error("iterator ran"); };
    try { connect(A); out.push("no error"); } catch (e) { out.push(why(e)); }
    Array.prototype[Symbol.iterator] = iterator;
    Object.defineProperty(Promise, Symbol.species, { get() { throw new Error("species ran"); }, configurable: true });
    try { connect(A); out.push("no error"); } catch (e) { out.push(why(e)); }
    delete Promise[Symbol.species];
    // Proxies: each member read once, in order.
    const reads = [];
    const proxy = new Proxy({ hostname: "127.0.0.1", port: P }, { get(t, k) { reads.push(String(k)); return t[k]; } });
    const viaProxy = connect(proxy);
    await viaProxy.opened;
    await viaProxy.close();
    out.push(reads.join(","));
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    for (const t of [
      () => connect(revoked),
      () => connect(A, revoked),
      () => connect({ hostname: { toString() { throw new RangeError("hostname toString"); } }, port: P }),
      () => connect({ hostname: "127.0.0.1", port: { valueOf() { throw new RangeError("port valueOf"); } } }),
      () => connect({ toString() { throw new RangeError("address toString"); }, [Symbol.toPrimitive]: undefined, hostname: undefined }),
      () => connect(A, { get secureTransport() { throw new RangeError("option getter"); } }),
      () => connect(A, { secureTransport: { toString() { throw new RangeError("option toString"); } } }),
    ]) {
      try { t(); out.push("no error"); } catch (e) { out.push(why(e)); }
    }
    // Not a Socket.
    const getter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(viaProxy), "readable").get;
    try { getter.call({}); out.push("no error"); } catch (e) { out.push(e.constructor.name); }
    try { new (Object.getPrototypeOf(viaProxy).constructor)(); out.push("no error"); } catch (e) { out.push(e.constructor.name); }
    // Chunks that are not bytes.
    const socket = connect(A);
    await socket.opened;
    const writer = socket.writable.getWriter();
    out.push(await settled(writer.write("a string")));
    await socket.close();
    return out.join("\n");
  },
  async neverReads(A) {
    const socket = connect(A);
    await socket.opened;
    await sleep(300);
    const held = __native.testBufferBytes();
    // One pull: one chunk.
    const reader = socket.readable.getReader();
    const { value } = await reader.read();
    await socket.close();
    return `${held < 512 * 1024}|${value.byteLength <= 65536}`;
  },
  async hugeChunk(A) {
    const socket = connect(A);
    const writer = socket.writable.getWriter();
    await writer.write(new Uint8Array(24 * 1024 * 1024));
    await writer.close();
    const text = await readAll(socket.readable);
    await socket.close();
    return text;
  },
  async policy(A) {
    const socket = connect(A);
    return await settled(socket.opened);
  },
  async port25() {
    const socket = connect("127.0.0.1:25");
    return await settled(socket.opened);
  },
  async subrequests(A) {
    const out = [];
    for (let i = 0; i < 4; i++) {
      try { const s = connect(A); await s.opened; await s.close(); out.push("ok"); } catch (e) { out.push(why(e)); }
    }
    return out.join("|");
  },
  async leftOpen(A) {
    const socket = connect(A);
    await socket.opened;
    await socket.writable.getWriter().write(encoder.encode("x"));
    return "returned";
  },
  async global() {
    return globalConnect;
  },
};

let globalConnect = "not tried";
try { connect("127.0.0.1:1"); globalConnect = "connected"; } catch (e) { globalConnect = why(e); }

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const route = routes[url.pathname.slice(1)];
    try {
      return new Response(String(await route(url.searchParams.get("a"), Number(url.searchParams.get("p")))));
    } catch (e) {
      return new Response(`threw ${why(e)}`);
    }
  },
};
)JS";

class SocketsTest : public runtime::testing::WorkerFixture {
 protected:
  static void SetUpTestSuite() { certs_ = new base::testing::TestCertificates(); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  SocketsTest() {
    bool registered = false;
    for (const auto& entry : natives_.entries()) registered |= entry.name == "socketConnect";
    if (!registered) RegisterSocketNatives(natives_);
    natives_.Add("testBufferBytes", TestBufferBytes);
    expose_natives_ = true;
  }
  ~SocketsTest() override {
    worker_.reset();
    services_.reset();
    client_.reset();
    base::testing::TestCertificates::Untrust();
  }

  void Start(outbound::ClientOptions options = {}) {
    client_ = std::make_shared<outbound::Client>(options);
    auto services = std::make_shared<BindingServices>();
    services->outbound = client_;
    services_ = services;
    worker_ = LoadOrDie(kWorker);
    ASSERT_TRUE(worker_);
  }

  // Runs `route` with ?a=<address>&p=<port>; the response body.
  std::string Call(const std::string& route, const std::string& address = "", int port = 0) {
    if (!worker_) Start();
    auto sink = Fetch(*worker_, "GET", "http://localhost/" + route + "?a=" + address +
                                           "&p=" + std::to_string(port));
    if (!sink->finished) return "FAILED: " + sink->failure;
    return sink->body;
  }
  static std::string Local(int port) { return "127.0.0.1:" + std::to_string(port); }

  static base::testing::TestCertificates* certs_;
  std::shared_ptr<outbound::Client> client_;
  std::unique_ptr<runtime::Worker> worker_;
};
base::testing::TestCertificates* SocketsTest::certs_ = nullptr;

TEST_F(SocketsTest, EchoOpenedAndClosed) {
  SocketServer server(Mode::kEcho);
  EXPECT_EQ(Call("echo", Local(server.port())),
            "hello|" + Local(server.port()) + "|undefined|off|false|connect,default");
}

TEST_F(SocketsTest, HalfOpenWritesThenReadsToTheEnd) {
  SocketServer server(Mode::kEcho);
  EXPECT_EQ(Call("halfOpen", "", server.port()), "abcde|closed");
}

TEST_F(SocketsTest, ThePeerClosingEndsTheReadableAndCloses) {
  SocketServer server(Mode::kBye);
  std::string body = Call("peerCloses", Local(server.port()));
  EXPECT_EQ(body.substr(0, 11), "bye|closed|") << body;
  EXPECT_NE(body.find("TypeError"), std::string::npos) << body;
}

TEST_F(SocketsTest, TlsFromTheStartAndABadCertificate) {
  if (certs_->ca.empty()) GTEST_SKIP() << "the openssl command failed";
  certs_->TrustOnlyTheCa();
  Start();
  SSL_CTX* good = ServerContext(certs_->good_cert, certs_->good_key);
  SSL_CTX* unknown = ServerContext(certs_->unknown_ca_cert, certs_->unknown_ca_key);
  {
    SocketServer server(Mode::kEcho, good);
    SocketServer bad(Mode::kEcho, unknown);
    EXPECT_EQ(Call("tls", "localhost:" + std::to_string(server.port())), "secret|on");
    std::string body = Call("badTls", "localhost:" + std::to_string(bad.port()));
    EXPECT_NE(body.find("Error: proxy request failed, cannot connect to the specified address "
                        "(TLS certificate verification failed for localhost: the certificate is "
                        "signed by an unknown certificate authority"),
              std::string::npos)
        << body;
    EXPECT_EQ(body.find("ok:"), std::string::npos) << body;
  }
  SSL_CTX_free(good);
  SSL_CTX_free(unknown);
}

TEST_F(SocketsTest, StartTlsUpgradesTheConnection) {
  if (certs_->ca.empty()) GTEST_SKIP() << "the openssl command failed";
  certs_->TrustOnlyTheCa();
  Start();
  SSL_CTX* good = ServerContext(certs_->good_cert, certs_->good_key);
  {
    SocketServer server(Mode::kStartTls, good);
    EXPECT_EQ(Call("startTls", "localhost:" + std::to_string(server.port())),
              "plain/GO/|over tls|true|on|TypeError: startTls can only be called once.");
    SocketServer echo(Mode::kEcho);
    EXPECT_EQ(Call("startTlsRefused", Local(echo.port())),
              "TypeError: The `secureTransport` socket option must be set to 'starttls' for "
              "startTls to be used.|TypeError: Cannot startTls on a TLS socket.");
  }
  SSL_CTX_free(good);
}

TEST_F(SocketsTest, ARefusedConnectionRejectsOpenedAndClosed) {
  int port;
  {
    SocketServer gone(Mode::kEcho);
    port = gone.port();
  }
  std::string body = Call("refused", Local(port));
  std::string expected = "Error: proxy request failed, cannot connect to the specified address (connecting to " +
                         Local(port) + " failed: connection refused)";
  EXPECT_EQ(body, expected + "|" + expected + "|" + expected);
}

TEST_F(SocketsTest, AtMostSixOpenPerInvocation) {
  SocketServer server(Mode::kEcho);
  EXPECT_EQ(Call("limit", Local(server.port())),
            "Error: Too many open connections: an invocation may have at most 6 sockets open at "
            "once (Workers' limit on simultaneous open connections). Close one (socket.close()) "
            "before opening another.|again");
  // The next request has its own six.
  EXPECT_EQ(Call("limit", Local(server.port())).substr(0, 30), "Error: Too many open connectio");
}

TEST_F(SocketsTest, ArgumentsAreCheckedAsWorkersDoes) {
  EXPECT_EQ(Call("arguments", "127.0.0.1:9"),
            "TypeError: Failed to execute 'connect': 1 argument required\n"
            "TypeError: Specified address is missing port.\n"
            "TypeError: Specified address is missing hostname.\n"
            "TypeError: Specified address is missing port.\n"
            "TypeError: Specified address has an invalid port.\n"
            "TypeError: Specified address has an invalid port.\n"
            "TypeError: Specified address is empty string, contains unsupported characters or is "
            "too long.\n"
            "TypeError: Specified address is empty string, contains unsupported characters or is "
            "too long.\n"
            "TypeError: Specified address is missing port.\n"
            "TypeError: Specified address is missing hostname.\n"
            "TypeError: Specified address has an invalid port.\n"
            "TypeError: Unsupported value in secureTransport socket option: maybe\n"
            "TypeError: Failed to execute 'connect': the options are not an object.\n"
            "TypeError: Cannot convert a Symbol value to a string");
}

TEST_F(SocketsTest, AHostileWorkerGetsErrorsAndTheProcessLives) {
  SocketServer server(Mode::kEcho);
  EXPECT_EQ(Call("hostile", Local(server.port()), server.port()),
            "poison " + Local(server.port()) + "\n"
            "opened " + Local(server.port()) + "\n"
            "Error: iterator ran\n"
            "Error: species ran\n"
            "hostname,port\n"
            "TypeError: Cannot perform 'get' on a proxy that has been revoked\n"
            "TypeError: Cannot perform 'get' on a proxy that has been revoked\n"
            "RangeError: hostname toString\n"
            "RangeError: port valueOf\n"
            "TypeError: Specified address is missing hostname.\n"
            "RangeError: option getter\n"
            "RangeError: option toString\n"
            "TypeError\n"
            "TypeError\n"
            "TypeError: A socket's writable side takes ArrayBuffer or ArrayBufferView chunks.");
  // Four connections were made (the poisoned realm's, the array setter's,
  // the Proxy's and the last one; none for the calls that threw), and the
  // isolate serves on.
  for (int i = 0; i < 200 && server.accepted() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server.accepted(), 4);
  EXPECT_EQ(Call("halfOpen", "", server.port()), "abcde|closed");
}

TEST_F(SocketsTest, AWorkerThatNeverReadsHoldsAtMostAChunk) {
  SocketServer server(Mode::kFlood);
  EXPECT_EQ(Call("neverReads", Local(server.port())), "true|true");
}

TEST_F(SocketsTest, AHugeChunkIsWrittenWhole) {
  SocketServer server(Mode::kCount);
  EXPECT_EQ(Call("hugeChunk", Local(server.port())), std::to_string(24 * 1024 * 1024));
}

TEST_F(SocketsTest, TheAddressPolicyAndPort25AreRefused) {
  outbound::ClientOptions options;
  options.address_policy = outbound::AddressPolicy::DenyPrivate();
  Start(options);
  SocketServer server(Mode::kEcho);
  std::string body = Call("policy", Local(server.port()));
  EXPECT_NE(body.find("Error: proxy request failed, cannot connect to the specified address ("),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("loopback"), std::string::npos) << body;
  EXPECT_EQ(server.accepted(), 0);
  EXPECT_EQ(Call("port25"),
            "Error: proxy request failed, cannot connect to the specified address (connections "
            "to port 25 are prohibited)");
}

TEST_F(SocketsTest, EachSocketIsASubrequest) {
  subrequest_limit_ = 3;
  SocketServer server(Mode::kEcho);
  std::string body = Call("subrequests", Local(server.port()));
  EXPECT_EQ(body.substr(0, 9), "ok|ok|ok|") << body;
  EXPECT_NE(body.find("Too many subrequests"), std::string::npos) << body;
}

TEST_F(SocketsTest, SocketsCloseWithTheirInvocation) {
  SocketServer server(Mode::kHold);
  EXPECT_EQ(Call("leftOpen", Local(server.port())), "returned");
  for (int i = 0; i < 500 && server.closed_by_client() == 0; ++i) {
    uv_run(loop(), UV_RUN_NOWAIT);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server.closed_by_client(), 1);
}

TEST_F(SocketsTest, RefusedInTheGlobalScope) {
  EXPECT_EQ(Call("global"),
            std::string("Error: ") +
                "Disallowed operation called within global scope. Asynchronous I/O (ex: fetch() "
                "or connect()), setting a timeout, and generating random values are not allowed "
                "within global scope. To fix this error, perform this operation within a "
                "handler. https://developers.cloudflare.com/workers/runtime-apis/handlers/");
}

}  // namespace
}  // namespace edge::bindings
