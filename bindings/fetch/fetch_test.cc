// fetch() from JavaScript (bindings/fetch/fetch.js over bindings/fetch/fetch_natives.cc
// and the outbound client) against a local test server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iterator>
#include <sstream>
#include <thread>

#include "base/http_client/testing/test_server.h"
#include "bindings/binding_services.h"
#include "bindings/bindings.h"
#include "bindings/fetch/outbound/client.h"
#include "bindings/fetch/testing/compress.h"
#include "runtime/global_scope.h"
#include "runtime/isolate_data.h"
#include "runtime/testing/worker_fixture.h"

namespace edge::bindings {
namespace {

using base::testing::ServerConnection;
using base::testing::ServerRequest;
using base::testing::TestServer;
using namespace std::chrono_literals;

// testInternals(): the runtime's `internals`, for tests that play the
// dispatcher's part (internals.beginInvocation).
runtime::NativeResult TestInternals(runtime::NativeCall& call) {
  return call.data().internals().As<v8::Value>();
}

// testGc(): a full garbage collection.
runtime::NativeResult TestGc(runtime::NativeCall& call) {
  call.isolate()->LowMemoryNotification();
  return v8::Undefined(call.isolate()).As<v8::Value>();
}

std::string Query(const std::string& target, const std::string& key) {
  size_t q = target.find('?');
  if (q == std::string::npos) return {};
  std::string query = target.substr(q + 1);
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    std::string pair = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) return eq == std::string::npos ? "" : pair.substr(eq + 1);
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return {};
}

class FetchTest : public runtime::testing::WorkerFixture {
 protected:
  FetchTest() {
    bool registered = false;
    for (const auto& entry : natives_.entries()) registered |= entry.name == "fetchStart";
    if (!registered) RegisterFetchNatives(natives_);
    natives_.Add("testInternals", TestInternals);
    natives_.Add("testGc", TestGc);
    expose_natives_ = true;
    server_ = std::make_unique<TestServer>([this](ServerConnection& c) { Serve(c); });
    origin_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }

  ~FetchTest() override {
    worker_.reset();
    server_.reset();
    services_.reset();
    client_.reset();
  }

  void StartClient(outbound::ClientOptions options = {}) {
    client_ = std::make_shared<outbound::Client>(options);
    auto services = std::make_shared<BindingServices>();
    services->outbound = client_;
    services_ = services;
    worker_ = LoadOrDie("export default { fetch() { return new Response('unused'); } };");
  }

  // Runs the loop until `done()` (another thread may make it true), or 10 s.
  bool WaitFor(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      uv_run(loop(), UV_RUN_NOWAIT);
      std::this_thread::sleep_for(2ms);
    }
    return true;
  }

  // Runs `source` (a script whose completion value may be a promise).
  std::string Js(const std::string& source) {
    if (!worker_) StartClient();
    auto result = Run(*worker_, source);
    if (!result.ok()) return "ERROR: " + result.status().message();
    return result.value();
  }

  // The words of the text body that fetch(<args>) resolves to, from the
  // `first` on, `count` of them, joined by spaces; "ORIGIN" in `args` stands
  // for the test server's origin.
  std::string FetchedWords(std::string args, size_t first, size_t count = 1) {
    for (size_t at; (at = args.find("ORIGIN")) != std::string::npos;) {
      args.replace(at, 6, origin_);
    }
    std::istringstream text(Js("fetch(" + args + ").then(r => r.text())"));
    std::vector<std::string> words{std::istream_iterator<std::string>(text), {}};
    std::string out;
    for (size_t i = first; i < words.size() && i < first + count; ++i) {
      out += (out.empty() ? "" : " ") + words[i];
    }
    return out;
  }

  void Serve(ServerConnection& c) {
    ServerRequest r;
    while (c.ReadHead(&r)) {
      const std::string path = r.target.substr(0, r.target.find('?'));
      if (path == "/stream-up") {
        // Echoes each request body piece as it arrives, as a chunked response.
        c.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        std::string piece;
        int pieces = 0;
        while (c.ReadBodyPiece(r, &piece)) {
          ++pieces;
          std::string chunk = "[" + piece + "]";
          char size[32];
          snprintf(size, sizeof size, "%zx\r\n", chunk.size());
          c.Write(std::string(size) + chunk + "\r\n");
        }
        std::string tail = r.chunked ? "(chunked)" : "(length)";
        char size[32];
        snprintf(size, sizeof size, "%zx\r\n", tail.size());
        c.Write(std::string(size) + tail + "\r\n0\r\n\r\n");
        continue;
      }
      std::string piece;
      while (c.ReadBodyPiece(r, &piece)) r.body += piece;
      requests_++;
      if (path == "/echo") {
        std::string headers;
        for (auto& [name, value] : r.headers) headers += name + "=" + value + ";";
        c.Respond(200, {{"Content-Type", "text/plain"}, {"X-Reply", "yes"}},
                  r.method + " " + r.target + " body=" + r.body + " headers=" + headers);
      } else if (path == "/redirect") {
        std::string status = Query(r.target, "status");
        std::string to = Query(r.target, "to");
        for (size_t i; (i = to.find("%2F")) != std::string::npos;) to.replace(i, 3, "/");
        for (size_t i; (i = to.find("%3A")) != std::string::npos;) to.replace(i, 3, ":");
        for (size_t i; (i = to.find("%3F")) != std::string::npos;) to.replace(i, 3, "?");
        for (size_t i; (i = to.find("%3D")) != std::string::npos;) to.replace(i, 3, "=");
        c.Respond(std::stoi(status.empty() ? "302" : status), {{"Location", to}}, "moved", "Found");
      } else if (path == "/chain") {
        int n = std::stoi(Query(r.target, "n"));
        if (n == 0) {
          c.Respond(200, {}, "end of chain");
        } else {
          c.Respond(302, {{"Location", "/chain?n=" + std::to_string(n - 1)}}, "", "Found");
        }
      } else if (path == "/slow-body") {
        c.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < 3; ++i) {
          std::this_thread::sleep_for(30ms);
          c.Write("6\r\npart" + std::to_string(i) + ";\r\n");
        }
        c.Write("0\r\n\r\n");
      } else if (path == "/hang") {
        // Sends the head and part of the body, then waits for the client to go.
        c.Write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial");
        ServerRequest ignored;
        c.ReadHead(&ignored);
        hang_closed_ = true;
        return;
      } else if (path == "/probe") {
        c.Respond(200, {}, hang_head_seen_ ? "seen" : "not yet");
      } else if (path == "/hang-head") {
        hang_head_seen_ = true;
        ServerRequest ignored;
        c.ReadHead(&ignored);
        hang_closed_ = true;
        return;
      } else if (path == "/gzip") {
        c.Respond(200, {{"Content-Encoding", "gzip"}}, testing::Compress("decoded by the runtime"));
      } else if (path == "/status") {
        c.Respond(std::stoi(Query(r.target, "code")), {{"X-A", "1"}}, "", "Custom Reason");
      } else {
        c.Respond(404, {}, "not found", "Not Found");
      }
    }
  }

  std::unique_ptr<TestServer> server_;
  std::string origin_;
  std::shared_ptr<outbound::Client> client_;
  std::unique_ptr<runtime::Worker> worker_;
  std::atomic<int> requests_{0};
  std::atomic<bool> hang_closed_{false};
  std::atomic<bool> hang_head_seen_{false};
};

TEST_F(FetchTest, GetWithStringUrlRequestAndUrlObject) {
  EXPECT_EQ(Js("(async () => {"
               "  const r = await fetch('" +
               origin_ +
               "/echo?x=1');"
               "  return [r.status, r.statusText, r.ok, r.url, r.redirected, r.type,"
               "          r.headers.get('x-reply'), (await r.text()).split(' ').slice(0, 2).join(' "
               "')].join('|');"
               "})()"),
            "200|OK|true|" + origin_ + "/echo?x=1|false|basic|yes|GET /echo?x=1");
  EXPECT_EQ(FetchedWords("new Request('ORIGIN/echo', {method: 'DELETE'})", 0), "DELETE");
  EXPECT_EQ(FetchedWords("new URL('/echo?u', 'ORIGIN')", 1), "/echo?u");
}

TEST_F(FetchTest, ResponseHeadersAreImmutableAndStatusTextIsKept) {
  EXPECT_EQ(Js("(async () => {"
               "  const r = await fetch('" +
               origin_ +
               "/status?code=418');"
               "  let threw = false; try { r.headers.set('x', 'y'); } catch (e) { threw = e "
               "instanceof TypeError; }"
               "  return [r.status, r.statusText, r.ok, threw, r.headers.get('x-a')].join('|');"
               "})()"),
            "418|Custom Reason|false|true|1");
  EXPECT_EQ(Js("fetch('" + origin_ + "/status?code=204').then(r => String(r.body))"), "null");
  EXPECT_EQ(Js("fetch('" + origin_ +
               "/echo', {method: 'HEAD'})"
               ".then(r => r.status + ' ' + String(r.body) + ' ' + r.headers.get('x-reply'))"),
            "200 null yes");
  // The connection is still in step after a HEAD (no body was expected).
  EXPECT_EQ(FetchedWords("'ORIGIN/echo'", 0), "GET");
  EXPECT_EQ(Js("(async () => {"
               "  const request = new Request('" +
               origin_ +
               "/echo', {method: 'POST', body: 'x'});"
               "  await request.text();"
               "  return fetch(request).then(() => 'resolved', e => e.name);"
               "})()"),
            "TypeError");
}

TEST_F(FetchTest, RequestHeadersAndBodies) {
  std::string body =
      Js("(async () => {"
         "  const r = await fetch('" +
         origin_ +
         "/echo', {method: 'POST', body: 'hello',"
         "    headers: {'X-Custom': 'v1', 'Host': 'spoofed.example'}});"
         "  return r.text();"
         "})()");
  EXPECT_NE(body.find("POST /echo body=hello"), std::string::npos) << body;
  EXPECT_NE(body.find("X-Custom=v1") == std::string::npos ? body.find("x-custom=v1")
                                                          : body.find("X-Custom=v1"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("Host=127.0.0.1:" + std::to_string(server_->port())), std::string::npos)
      << body;
  EXPECT_NE(body.find("content-type=text/plain;charset=UTF-8"), std::string::npos) << body;
  EXPECT_NE(body.find("Content-Length=5"), std::string::npos) << body;

  body = Js("fetch('" + origin_ +
            "/echo', {method: 'PUT', body: new Uint8Array([65, 66, 67])})"
            ".then(r => r.text())");
  EXPECT_NE(body.find("PUT /echo body=ABC"), std::string::npos) << body;
  body = Js("fetch('" + origin_ + "/echo', {method: 'POST'}).then(r => r.text())");
  EXPECT_NE(body.find("Content-Length=0"), std::string::npos) << body;
}

TEST_F(FetchTest, StreamedRequestBodyIsSentAsItIsProduced) {
  EXPECT_EQ(Js("(async () => {"
               "  let i = 0;"
               "  const body = new ReadableStream({ async pull(c) {"
               "    if (i === 3) return c.close();"
               "    await new Promise(r => setTimeout(r, 20));"
               "    c.enqueue(new TextEncoder().encode('p' + i++));"
               "  }});"
               "  const r = await fetch('" +
               origin_ +
               "/stream-up', {method: 'POST', body});"
               "  return r.text();"
               "})()"),
            "[p0][p1][p2](chunked)");
  EXPECT_EQ(Js("(async () => {"
               "  const body = new ReadableStream({ start(c) {"
               "    c.enqueue(new Uint8Array([120, 121])); c.enqueue(new Uint8Array([122])); "
               "c.close(); }});"
               "  const r = await fetch('" +
               origin_ +
               "/stream-up', {method: 'POST', body,"
               "    headers: {'content-length': '3'}});"
               "  return (await r.text()).replace(/[\\[\\]]/g, '');"
               "})()"),
            "xyz(length)");
}

TEST_F(FetchTest, StreamedRequestBodyErrorRejectsTheFetch) {
  EXPECT_EQ(Js("(async () => {"
               "  const body = new ReadableStream({ pull(c) { c.error(new RangeError('source "
               "broke')); }});"
               "  try { await fetch('" +
               origin_ +
               "/stream-up', {method: 'POST', body}); return 'resolved'; }"
               "  catch (e) { return e.name + ': ' + e.message; }"
               "})()"),
            "RangeError: source broke");
}

TEST_F(FetchTest, ResponseBodyStreamsAsItArrives) {
  EXPECT_EQ(Js("(async () => {"
               "  const r = await fetch('" +
               origin_ +
               "/slow-body');"
               "  const reader = r.body.getReader();"
               "  const parts = [];"
               "  for (;;) { const {value, done} = await reader.read(); if (done) break;"
               "    parts.push(new TextDecoder().decode(value)); }"
               "  return parts.length + ':' + parts.join('');"
               "})()"),
            "3:part0;part1;part2;");
}

TEST_F(FetchTest, GzipBodiesAreDecodedAndTheHeaderKept) {
  EXPECT_EQ(Js("fetch('" + origin_ +
               "/gzip').then(async r => r.headers.get('content-encoding') + '|' + await r.text())"),
            "gzip|decoded by the runtime");
}

TEST_F(FetchTest, RedirectFollow) {
  std::string target = origin_ + "/echo?final";
  EXPECT_EQ(Js("(async () => {"
               "  const r = await fetch('" +
               origin_ + "/redirect?status=301&to=" + target +
               "',"
               "    {method: 'POST', body: 'data', headers: {authorization: 'secret'}});"
               "  const text = await r.text();"
               "  return [r.status, r.redirected, r.url, text.split(' ').slice(0, 3).join(' '),"
               "          text.includes('authorization=secret')].join('|');"
               "})()"),
            "200|true|" + target + "|GET /echo?final body=|true");
  // 307 keeps the method and the body.
  EXPECT_EQ(
      FetchedWords("'ORIGIN/redirect?status=307&to=%2Fecho', {method: 'PUT', body: 'kept'}", 0, 3),
      "PUT /echo body=kept");
  // 303 turns any method into GET without a body.
  EXPECT_EQ(FetchedWords(
                "'ORIGIN/redirect?status=303&to=%2Fecho', {method: 'PUT', body: 'dropped'}", 0, 3),
            "GET /echo body=");
}

TEST_F(FetchTest, RedirectAcrossOriginsDropsAuthorization) {
  TestServer other(TestServer::EachRequest([](ServerConnection& c, const ServerRequest& r) {
    c.Respond(200, {}, r.HasHeader("authorization") ? "has auth" : "no auth");
  }));
  std::string to = "http://localhost:" + std::to_string(other.port()) + "/";
  EXPECT_EQ(Js("fetch('" + origin_ + "/redirect?status=302&to=" + to +
               "', {headers: {authorization: 'x'}})"
               ".then(r => r.text())"),
            "no auth");
}

TEST_F(FetchTest, RedirectLimitIsTwenty) {
  EXPECT_EQ(Js("fetch('" + origin_ + "/chain?n=20').then(r => r.text())"), "end of chain");
  EXPECT_EQ(Js("fetch('" + origin_ +
               "/chain?n=21').then(() => 'resolved', e => e.name + ': ' + e.message)"),
            "TypeError: Fetch failed: too many redirects (more than 20).");
}

TEST_F(FetchTest, RedirectManualAndError) {
  EXPECT_EQ(Js("fetch('" + origin_ +
               "/redirect?status=302&to=%2Fecho', {redirect: 'manual'})"
               ".then(async r => [r.status, r.headers.get('location'), r.redirected, await "
               "r.text()].join('|'))"),
            "302|/echo|false|moved");
  std::string rejected = Js("fetch('" + origin_ +
                            "/redirect?status=302&to=%2Fecho', {redirect: 'error'})"
                            ".then(() => 'resolved', e => e.name + ': ' + e.message)");
  EXPECT_EQ(rejected.rfind("TypeError: Fetch failed: ", 0), 0u) << rejected;
  EXPECT_NE(rejected.find("redirect mode is \"error\""), std::string::npos) << rejected;
}

TEST_F(FetchTest, StreamedBodyCannotFollowA307) {
  std::string result =
      Js("fetch('" + origin_ +
         "/redirect?status=307&to=%2Fecho', {method: 'POST',"
         "  body: new ReadableStream({start(c) { c.enqueue(new Uint8Array([1])); c.close(); }})})"
         ".then(() => 'resolved', e => e.name + ': ' + e.message)");
  EXPECT_NE(result.find("TypeError: Fetch failed: cannot follow a 307 redirect with a streamed"),
            std::string::npos)
      << result;
}

TEST_F(FetchTest, AbortBeforeDuringHeadAndDuringBody) {
  // A duck-typed signal: any object with aborted, reason and addEventListener.
  const std::string signal =
      "function makeSignal() {"
      "  const listeners = [];"
      "  const s = { aborted: false, reason: undefined,"
      "    addEventListener(type, fn) { if (type === 'abort') listeners.push(fn); },"
      "    removeEventListener(type, fn) { const i = listeners.indexOf(fn); if (i >= 0) "
      "listeners.splice(i, 1); },"
      "    abort(reason) { s.aborted = true; s.reason = reason; for (const fn of "
      "listeners.splice(0)) fn(); } };"
      "  return s;"
      "}";
  EXPECT_EQ(Js(signal +
               "(async () => {"
               "  const s = makeSignal(); s.abort(new Error('early'));"
               "  try { await fetch('" +
               origin_ +
               "/echo', {signal: s}); return 'resolved'; }"
               "  catch (e) { return e.message; }"
               "})()"),
            "early");
  EXPECT_EQ(Js(signal +
               "(async () => {"
               "  const s = makeSignal();"
               "  const fetched = fetch('" +
               origin_ +
               "/hang-head', {signal: s});"
               "  while (await fetch('" +
               origin_ +
               "/probe').then(r => r.text()) !== 'seen') {}"
               "  s.abort();"
               "  try { await fetched; return 'resolved'; }"
               "  catch (e) { return e.name + ': ' + e.message; }"
               "})()"),
            "AbortError: The operation was aborted.");
  EXPECT_TRUE(WaitFor([&] { return hang_closed_.load(); }))
      << "the aborted request's connection stayed open";
  hang_closed_ = false;
  EXPECT_EQ(Js(signal +
               "(async () => {"
               "  const s = makeSignal();"
               "  const r = await fetch('" +
               origin_ +
               "/hang', {signal: s});"
               "  const reader = r.body.getReader();"
               "  const first = new TextDecoder().decode((await reader.read()).value);"
               "  setTimeout(() => s.abort(new RangeError('stop')), 20);"
               "  try { await reader.read(); return 'read on'; }"
               "  catch (e) { return first + '|' + e.name + ': ' + e.message; }"
               "})()"),
            "partial|RangeError: stop");
  EXPECT_TRUE(WaitFor([&] { return hang_closed_.load(); }));
}

TEST_F(FetchTest, CancellingTheBodyFreesTheConnection) {
  EXPECT_EQ(Js("(async () => {"
               "  const r = await fetch('" +
               origin_ +
               "/hang');"
               "  await r.body.cancel();"
               "  return 'cancelled';"
               "})()"),
            "cancelled");
  EXPECT_TRUE(WaitFor([&] { return hang_closed_.load(); }));
}

TEST_F(FetchTest, NetworkErrorsAreTypeErrors) {
  EXPECT_EQ(
      Js("fetch('ftp://example.com/').then(() => 'resolved', e => e.name + ': ' + e.message)"),
      "TypeError: Fetch API cannot load: ftp://example.com/");
  int port;
  {
    TestServer gone([](ServerConnection&) {});
    port = gone.port();
  }
  std::string refused = Js("fetch('http://127.0.0.1:" + std::to_string(port) +
                           "/').then(() => 'resolved', e => e.name + ': ' + e.message)");
  EXPECT_EQ(refused.rfind("TypeError: ", 0), 0u) << refused;
  EXPECT_NE(refused.find("connection refused"), std::string::npos) << refused;
  EXPECT_EQ(Js("fetch().then(() => 'resolved', e => e.name)"), "TypeError");
}

TEST_F(FetchTest, SubrequestLimitCountsFetchesAndRedirectsAcrossAwaits) {
  outbound::ClientOptions options;
  options.subrequest_limit = 4;
  StartClient(options);
  EXPECT_EQ(
      Js("(async () => {"
         "  const internals = __native.testInternals();"
         "  const invocation = internals.beginInvocation();"
         "  const handler = (async () => {"
         "    await fetch('" +
         origin_ +
         "/echo').then(r => r.text());"
         "    await new Promise(r => setTimeout(r, 1));"  // the timer's own callback has no
                                                          // invocation,
         "    await fetch('" +
         origin_ +
         "/chain?n=2').then(r => r.text());"  // but the await does
         "    try { await fetch('" +
         origin_ +
         "/echo'); return 'not limited'; }"
         "    catch (e) { return e.name + ': ' + e.message + ' after ' + invocation.subrequests; }"
         "  })();"
         "  internals.leaveInvocation();"
         "  const other = internals.beginInvocation();"
         "  const fresh = fetch('" +
         origin_ +
         "/echo').then(r => r.status);"
         "  internals.leaveInvocation();"
         "  return (await handler) + ' / other: ' + (await fresh) + ' ' + other.subrequests;"
         "})()"),
      "Error: Too many subrequests. This invocation may make 4 subrequests (each fetch(), each "
      "redirect it follows, each service-binding call and each Cache API put, match or delete "
      "counts as one). after 4 / other: 200 1");
}

TEST_F(FetchTest, InvocationDoesNotLeakIntoLaterEntries) {
  // A reaction run for an invocation must not leave it current for the next
  // entry from the loop (a timer's callback here).
  EXPECT_EQ(
      Js("(async () => {"
         "  const internals = __native.testInternals();"
         "  const invocation = internals.beginInvocation();"
         "  let inside;"
         "  const p = Promise.resolve().then(() => { inside = internals.currentInvocation(); });"
         "  internals.leaveInvocation();"
         "  await p;"
         "  let inTimer = 'unset';"
         "  await new Promise(r => setTimeout(() => { inTimer = internals.currentInvocation(); "
         "r(); }, 5));"
         "  return [inside === invocation, inTimer === undefined].join(',');"
         "})()"),
      "true,true");
}

TEST_F(FetchTest, EndInvocationCancelsWhatItLeftOpen) {
  EXPECT_EQ(Js("(async () => {"
               "  const internals = __native.testInternals();"
               "  const invocation = internals.beginInvocation();"
               "  let responded = false;"
               "  const pending = fetch('" +
               origin_ +
               "/hang').then(r => { responded = true; return r.text(); });"
               "  internals.leaveInvocation();"
               "  while (!responded) await new Promise(r => setTimeout(r, 5));"
               "  internals.endInvocation(invocation);"
               "  return pending.then(() => 'read', e => e.message);"
               "})()"),
            "The invocation that made this fetch() has ended.");
  EXPECT_TRUE(WaitFor([&] { return hang_closed_.load(); }));
}

TEST_F(FetchTest, AFetchLeftOpenByAFinishedRequestIsCancelled) {
  // The dispatcher ends a request's invocation once its response has ended
  // and its waitUntil work settled: a fetch() not awaited and not given to
  // waitUntil is cancelled then; one given to waitUntil completes.
  StartClient();
  worker_ = LoadOrDie(
      "globalThis.outcome = 'none';"
      "export default { fetch(request, env, ctx) {"
      "  const path = new URL(request.url).pathname;"
      "  globalThis.outcome = 'pending';"
      "  const p = fetch('" + origin_ + "' + path).then(r => r.text())"
      "    .then(() => { globalThis.outcome = 'read'; }, e => { globalThis.outcome = e.message; });"
      "  if (path === '/echo') ctx.waitUntil(p);"
      "  return new Response('sent');"
      "} };");
  ASSERT_TRUE(worker_);
  const std::string outcome =
      "new Promise(r => { const check = () => globalThis.outcome !== 'pending' ?"
      " r(globalThis.outcome) : setTimeout(check, 5); check(); })";
  EXPECT_EQ(Fetch(*worker_, "GET", "http://localhost/hang")->body, "sent");
  EXPECT_EQ(Js(outcome), "The invocation that made this fetch() has ended.");
  EXPECT_EQ(Fetch(*worker_, "GET", "http://localhost/echo")->body, "sent");
  EXPECT_EQ(Js(outcome), "read");
}

TEST_F(FetchTest, WaitUntilWorkThatNeverSettlesIsStoppedAfterTheLimit) {
  // 30 s after the response (shortened here), a request whose waitUntil work
  // has not settled ends anyway: its timers stop and its fetches are cancelled.
  StartClient();
  worker_ = LoadOrDie(
      "globalThis.ticks = 0; globalThis.outcome = 'none';"
      "export default { fetch(request, env, ctx) {"
      "  setInterval(() => globalThis.ticks++, 1);"
      "  globalThis.outcome = 'pending';"
      "  fetch('" + origin_ + "/hang').then(r => r.text())"
      "    .then(() => { globalThis.outcome = 'read'; }, e => { globalThis.outcome = e.message; });"
      "  ctx.waitUntil(new Promise(() => {}));"
      "  return new Response('sent');"
      "} };");
  ASSERT_TRUE(worker_);
  EXPECT_EQ(Js("__native.testInternals().setWaitUntilLimit(1500), 'set'"), "set");
  EXPECT_EQ(Fetch(*worker_)->body, "sent");
  EXPECT_EQ(Js("new Promise(r => setTimeout(() => r(`${globalThis.ticks > 0} ${globalThis.outcome}`), 40))"),
            "true pending");  // still running inside the limit
  EXPECT_EQ(Js("new Promise(r => { const check = () => globalThis.outcome !== 'pending' ?"
               " r(globalThis.outcome) : setTimeout(check, 5); check(); })"),
            "The invocation that made this fetch() has ended.");
  EXPECT_EQ(Js("const before = globalThis.ticks;"
               "new Promise(r => setTimeout(() => r(String(globalThis.ticks - before)), 30))"),
            "0");
  EXPECT_TRUE(WaitFor([&] { return hang_closed_.load(); }));
}

// Request checks the method in JavaScript; fetchStart checks again what
// would go on the wire, so a method that got past the JavaScript (a patched
// built-in) still cannot put a space or CRLF in the request line.
TEST_F(FetchTest, TheNativeRefusesAMethodThatIsNotAToken) {
  using ::testing::HasSubstr;
  for (const char* method : {"GE T", "GET\\r\\nX: 1", "", "connect", "TRACE", "Track"}) {
    EXPECT_THAT(Js(std::string("(() => { try { __native.fetchStart('") + method +
                   "', false, '127.0.0.1', 80, '/', [], null, null); return 'sent'; }"
                   " catch (e) { return e.name + ': ' + e.message; } })()"),
                HasSubstr("TypeError: Invalid or forbidden request method"))
        << method;
  }
  EXPECT_EQ(Js("fetch('" + origin_ + "/echo', { method: 'PROPFIND' }).then(r => r.status)"), "200");
}

TEST_F(FetchTest, UnreadBodyOfAGarbageResponseIsCancelled) {
  EXPECT_EQ(Js("fetch('" + origin_ + "/hang').then(r => r.status)"), "200");
  // The Response is garbage now; a GC cancels its request.
  EXPECT_EQ(Js("__native.testGc(), 'collected'"), "collected");
  EXPECT_TRUE(WaitFor([&] { return hang_closed_.load(); }));
}

TEST_F(FetchTest, WithoutAClientFetchRejectsClearly) {
  services_ = std::make_shared<BindingServices>();
  worker_ = LoadOrDie("export default { fetch() { return new Response('x'); } };");
  EXPECT_EQ(
      Js("fetch('http://127.0.0.1:1/').then(() => 'resolved', e => e.name + ': ' + e.message)"),
      "TypeError: fetch() is not available: this process was started without an outbound "
      "client.");
}

TEST_F(FetchTest, ManyConcurrentFetchesShareTheBoundedPool) {
  outbound::ClientOptions options;
  options.max_connections_per_origin = 3;
  StartClient(options);
  EXPECT_EQ(Js("Promise.all(Array.from({length: 40}, (_, i) =>"
               "  fetch('" +
               origin_ + "/slow-body').then(r => r.text()))).then(a => a.length + ' ' + a[39])"),
            "40 part0;part1;part2;");
  EXPECT_LE(server_->max_open_connections(), 3);
  EXPECT_LE(client_->stats().connections_opened.load(), 3u);
}

TEST_F(FetchTest, ResponseBodyDrainedToAnotherResponse) {
  EXPECT_EQ(Js("fetch('" + origin_ +
               "/slow-body').then(r => new Response(r.body, r)).then(r => r.text())"),
            "part0;part1;part2;");
}

// fetch() in a worker's global scope rejects with Workers' error, and no
// request leaves; in a handler it works.
TEST_F(FetchTest, RefusedInTheGlobalScope) {
  StartClient();
  int before = requests_;
  std::string source = R"(
    let seen = "pending";
    Promise.prototype.then = function () { throw new Error("poisoned then"); };
    (async () => {
      try { await fetch("ORIGIN/echo"); seen = "fetched"; } catch (e) { seen = e.constructor.name + ": " + e.message; }
    })();
    export default {
      async fetch() { return new Response(seen + " | " + (await fetch("ORIGIN/echo")).status); },
    };)";
  for (size_t at; (at = source.find("ORIGIN")) != std::string::npos;) source.replace(at, 6, origin_);
  auto worker = LoadOrDie(source);
  ASSERT_TRUE(worker);
  EXPECT_EQ(requests_, before);
  auto response = Fetch(*worker);
  ASSERT_TRUE(response->finished) << response->failure;
  EXPECT_EQ(response->body, std::string("Error: ") + runtime::kGlobalScopeError + " | 200");
}

// HTTPS with a test CA from the openssl command.
TEST_F(FetchTest, HttpsAndABadCertificate) {
  base::testing::TestCertificates certs;
  if (certs.ca.empty()) GTEST_SKIP() << "the openssl command failed";
  setenv("SSL_CERT_FILE", certs.ca.c_str(), 1);
  StartClient();
  TestServer::Tls good{certs.good_cert, certs.good_key};
  TestServer::Tls expired{certs.expired_cert, certs.expired_key};
  auto echo = TestServer::EachRequest([](ServerConnection& c, const ServerRequest& r) {
    c.Respond(200, {}, "secure " + r.target);
  });
  TestServer good_server(echo, &good);
  TestServer expired_server(echo, &expired);
  EXPECT_EQ(Js("fetch('https://localhost:" + std::to_string(good_server.port()) +
               "/x').then(r => r.text())"),
            "secure /x");
  EXPECT_EQ(Js("fetch('https://localhost:" + std::to_string(expired_server.port()) +
               "/x').then(() => 'resolved', e => e.name + ': ' + e.message)"),
            "TypeError: TLS certificate verification failed for localhost: the certificate has "
            "expired");
  unsetenv("SSL_CERT_FILE");
}

}  // namespace
}  // namespace edge::bindings
