// The natives of this component, seen from JavaScript through the runtime's
// Web API classes.
#include <gtest/gtest.h>

#include <regex>

#include "runtime/testing/worker_fixture.h"

namespace edge::runtime::testing {
namespace {

class WebApiTest : public WorkerFixture {
 protected:
  void SetUp() override {
    worker_ = LoadOrDie("export default { fetch() { return new Response('ok'); } };");
    ASSERT_TRUE(worker_);
  }
  std::string Eval(const std::string& source) {
    auto result = Run(*worker_, source);
    EXPECT_TRUE(result.ok()) << result.status().message();
    return result.ok() ? *result : std::string("<error: ") + result.status().message() + ">";
  }
  std::unique_ptr<Worker> worker_;
};

TEST_F(WebApiTest, TextEncoderAndDecoderRoundTripUtf8) {
  EXPECT_EQ(Eval("Array.from(new TextEncoder().encode('h\u00e9\\ud800')).join(',')"),
            "104,195,169,239,191,189");
  EXPECT_EQ(Eval("new TextDecoder().decode(new Uint8Array([0xEF,0xBB,0xBF,0x68,0xC3,0xA9]))"),
            "h\u00e9");
  EXPECT_EQ(Eval("try { new TextDecoder('utf-8', {fatal: true}).decode(new Uint8Array([0xC0])); "
                 "'decoded' } catch (e) { e.name }"),
            "TypeError");
  EXPECT_EQ(Eval("const r = new TextEncoder().encodeInto('a\u00e9b', new Uint8Array(2)); "
                 "r.read + '/' + r.written"),
            "1/1");
}

TEST_F(WebApiTest, CryptoRandomComesFromOpenSsl) {
  std::string uuid = Eval("crypto.randomUUID()");
  EXPECT_TRUE(std::regex_match(
      uuid, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << uuid;
  EXPECT_EQ(Eval("const a = crypto.getRandomValues(new Uint8Array(64)); a.some((x) => x !== 0)"),
            "true");
  EXPECT_EQ(Eval("try { crypto.getRandomValues(new Uint8Array(65537)); 'filled' } "
                 "catch (e) { e.name }"),
            "QuotaExceededError");
  EXPECT_EQ(Eval("try { crypto.getRandomValues(new Float32Array(4)); 'filled' } "
                 "catch (e) { e.name }"),
            "TypeMismatchError");
}

TEST_F(WebApiTest, StructuredCloneUsesTheSerializer) {
  EXPECT_EQ(Eval("const o = {a: [1, {b: new Map([[1, 2]])}], d: new Date(0)}; o.self = o; "
                 "const c = structuredClone(o); "
                 "[c !== o, c.self === c, c.a[1].b.get(1), c.d.getTime()].join(',')"),
            "true,true,2,0");
  EXPECT_EQ(Eval("try { structuredClone(() => 1); 'cloned' } catch (e) { "
                 "e.name + ':' + (e instanceof DOMException) }"),
            "DataCloneError:true");
}

TEST_F(WebApiTest, PerformanceNowIsMonotonicMilliseconds) {
  EXPECT_EQ(Eval("const a = performance.now(); const b = performance.now(); "
                 "a >= 0 && b >= a && a < 60000"),
            "true");
  EXPECT_EQ(Eval("Math.abs(performance.timeOrigin - Date.now()) < 60000"), "true");
}

TEST_F(WebApiTest, UrlHostsGoThroughIcu) {
  EXPECT_EQ(Eval("new URL('https://B\u00fccher.example/').hostname"), "xn--bcher-kva.example");
  // A left-to-right label holding a right-to-left letter breaks the bidi rule.
  EXPECT_EQ(Eval("URL.canParse('https://a\\u05D0.example/')"), "false");
  // All-ASCII hosts that ToASCII refuses are kept, lowercased (whatwg/url#914).
  EXPECT_EQ(Eval("new URL('https://XN--A.example/').hostname"), "xn--a.example");
}

TEST_F(WebApiTest, NavigatorAndGlobalsAreThere) {
  EXPECT_EQ(Eval("navigator.userAgent"), "Cloudflare-Workers");
  EXPECT_EQ(Eval("self === globalThis"), "true");
  EXPECT_EQ(Eval("atob(btoa('hello'))"), "hello");
  EXPECT_EQ(Eval("Object.keys(globalThis).includes('Response')"), "false");
  EXPECT_EQ(Eval("typeof Response + typeof Request + typeof Headers + typeof URLSearchParams"),
            "functionfunctionfunctionfunction");
}

}  // namespace
}  // namespace edge::runtime::testing
