// WarmRequestPath (snapshot_warmup.h).
#include "runtime/snapshot_warmup.h"

#include <uv.h>

#include <memory>
#include <string>
#include <string_view>

#include "runtime/buffer_allocator.h"
#include "runtime/errors.h"
#include "runtime/native.h"
#include "runtime/response_sink.h"

namespace edge::runtime {
namespace {

// The handler the warm-up requests reach: what most workers do with a
// request (its URL, query, headers, JSON or text body, request.cf) and the
// usual ways of answering (a string with headers, Response.json, a stream).
constexpr std::string_view kWarmHandler = R"JS(({
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const name = url.searchParams.get("name") ?? "world";
    const accept = request.headers.get("accept");
    const seen = [];
    for (const [key, value] of request.headers) seen.push(`${key}=${value}`);
    void request.cf;
    ctx.waitUntil(Promise.resolve());
    if (request.method === "POST") {
      const body = await request.json();
      return Response.json({ name, accept, seen, body, path: url.pathname });
    }
    if (url.pathname === "/stream") {
      const encoder = new TextEncoder();
      const stream = new ReadableStream({
        start(controller) {
          controller.enqueue(encoder.encode(name));
          controller.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "text/plain" } });
    }
    const headers = new Headers({ "content-type": "text/plain; charset=utf-8" });
    headers.set("cache-control", "no-store");
    return new Response(`hello ${name} ${url.pathname} ${seen.length}`, { status: 200, headers });
  },
}))JS";

// Keeps what a warm-up request answered.
class WarmupSink : public ResponseSink {
 public:
  void Start(int status, std::string_view, HeaderList, std::optional<uint64_t>) override {
    status_ = status;
  }
  void Write(std::string_view chunk) override { bytes_ += chunk.size(); }
  void Finish() override { done_ = true; }
  void Fail(std::string_view reason, LimitKind) override {
    failure_ = std::string(reason);
    done_ = true;
  }
  bool Aborted() const override { return false; }
  bool NeedsDrain() const override { return false; }
  void OnDrain(std::function<void()> callback) override { callback(); }

  bool done() const { return done_; }
  // Empty when it answered 200 with a body.
  std::string Problem() const {
    if (!done_) return "it never ended";
    if (!failure_.empty()) return "it failed: " + failure_;
    if (status_ != 200 || bytes_ == 0) return "it answered " + std::to_string(status_) + " with " +
                                              std::to_string(bytes_) + " bytes";
    return "";
  }

 private:
  bool done_ = false;
  int status_ = 0;
  size_t bytes_ = 0;
  std::string failure_;
};

struct WarmRequest {
  const char* method;
  const char* url;
  const char* body;  // null: none
};

}  // namespace

Status WarmRequestPath(IsolateData& data, v8::Local<v8::Context> context,
                       v8::Local<v8::Object> internals) {
  v8::Isolate* isolate = data.isolate();
  v8::HandleScope scope(isolate);
  v8::TryCatch try_catch(isolate);
  auto failed = [&](std::string_view what) {
    std::string message = "the snapshot's warm-up request " + std::string(what);
    if (try_catch.HasCaught()) {
      message += ": " + DescribeException(isolate, try_catch.Exception(), try_catch.Message());
    }
    return Status(ErrorCode::kInternal, message);
  };

  v8::ScriptOrigin origin(isolate, Utf8String(isolate, "edge:internal/snapshot_warmup"));
  v8::Local<v8::Script> script;
  v8::Local<v8::Value> handler;
  if (!v8::Script::Compile(context, Utf8String(isolate, kWarmHandler), &origin).ToLocal(&script) ||
      !script->Run(context).ToLocal(&handler)) {
    return failed("handler did not compile");
  }
  v8::Local<v8::Value> prepare;
  v8::Local<v8::Value> dispatch;
  v8::Local<v8::Value> prepare_args[] = {handler};
  if (!internals->Get(context, Utf8String(isolate, "prepareFetchHandler")).ToLocal(&prepare) ||
      !prepare->IsFunction() ||
      !prepare.As<v8::Function>()
           ->Call(context, v8::Undefined(isolate), 1, prepare_args)
           .ToLocal(&dispatch) ||
      !dispatch->IsFunction()) {
    return failed("found no dispatcher");
  }

  const WarmRequest requests[] = {
      {"GET", "http://warmup.invalid/a/path?name=edge", nullptr},
      {"POST", "http://warmup.invalid/api?name=edge", R"({"list":[1,2,3],"ok":true})"},
      {"GET", "http://warmup.invalid/stream", nullptr},
      {"GET", "http://warmup.invalid/again?name=x", nullptr},
  };
  for (const WarmRequest& warm : requests) {
    auto sink = std::make_shared<WarmupSink>();
    uint32_t id = data.AddResponse(sink);
    v8::Local<v8::Value> header_items[] = {
        Latin1String(isolate, "accept"),       Latin1String(isolate, "*/*"),
        Latin1String(isolate, "content-type"), Latin1String(isolate, "application/json"),
        Latin1String(isolate, "user-agent"),   Latin1String(isolate, "edge-snapshot"),
    };
    v8::Local<v8::Value> body = v8::Null(isolate);
    if (warm.body != nullptr) {
      StatusOr<v8::Local<v8::Uint8Array>> bytes = NewUint8Array(isolate, warm.body);
      if (!bytes.ok()) {
        data.RemoveResponse(id);
        return bytes.status();
      }
      body = *bytes;
    }
    v8::Local<v8::Object> env = v8::Object::New(isolate, v8::Null(isolate), nullptr, nullptr, 0);
    v8::Local<v8::Value> args[] = {
        v8::Integer::NewFromUnsigned(isolate, id),
        Utf8String(isolate, warm.method),
        Utf8String(isolate, warm.url),
        v8::Array::New(isolate, header_items, std::size(header_items)),
        body,
        env,
        v8::Integer::NewFromUnsigned(isolate, 0),
        Utf8String(isolate, R"({"colo":"LCL","country":"XX"})"),
    };
    v8::Local<v8::Value> ignored;
    if (!dispatch.As<v8::Function>()
             ->Call(context, v8::Undefined(isolate), std::size(args), args)
             .ToLocal(&ignored)) {
      data.RemoveResponse(id);
      return failed(std::string("to ") + warm.url + " threw");
    }
    data.DrainMicrotasks();
    while (!sink->done() && uv_run(data.loop(), UV_RUN_ONCE) != 0) data.DrainMicrotasks();
    std::string problem = sink->Problem();
    data.RemoveResponse(id);
    if (!problem.empty()) return failed(std::string("to ") + warm.url + ": " + problem);
  }
  data.DrainMicrotasks();
  return Status::Ok();
}

}  // namespace edge::runtime
