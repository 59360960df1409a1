#include "runtime/inspector/worker_inspector.h"

#include <chrono>

#include "base/utf8.h"

namespace edge::runtime {
namespace {

v8_inspector::StringView Utf16View(const std::u16string& text) {
  return v8_inspector::StringView(reinterpret_cast<const uint16_t*>(text.data()), text.size());
}

// A path as a file: URL (RFC 8089), each byte outside the unreserved set
// and "/" percent-encoded.
std::string FileUrl(std::string_view path) {
  std::string url = "file://";
  for (unsigned char c : path) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      url.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      url.push_back('%');
      url.push_back(kHex[c >> 4]);
      url.push_back(kHex[c & 15]);
    }
  }
  return url;
}

}  // namespace

std::string InspectorStringToUtf8(const v8_inspector::StringView& view) {
  std::string out;
  if (view.is8Bit()) {
    // Latin-1 (the inspector's JSON escapes anything else).
    out.reserve(view.length());
    for (size_t i = 0; i < view.length(); ++i) {
      uint8_t c = view.characters8()[i];
      if (c < 0x80) {
        out.push_back(static_cast<char>(c));
      } else {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
      }
    }
    return out;
  }
  const uint16_t* chars = view.characters16();
  out.reserve(view.length());
  for (size_t i = 0; i < view.length(); ++i) {
    uint32_t c = chars[i];
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < view.length() && chars[i + 1] >= 0xDC00 &&
        chars[i + 1] <= 0xDFFF) {
      c = 0x10000 + ((c - 0xD800) << 10) + (chars[i + 1] - 0xDC00);
      ++i;
    } else if (c >= 0xD800 && c <= 0xDFFF) {
      c = 0xFFFD;  // a lone surrogate
    }
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

// One V8 session and the DevTools session it answers.
class WorkerInspector::Channel final : public v8_inspector::V8Inspector::Channel {
 public:
  explicit Channel(std::shared_ptr<InspectorFrontend> frontend) : frontend_(std::move(frontend)) {}

  void sendResponse(int call_id, std::unique_ptr<v8_inspector::StringBuffer> message) override {
    // The answers to what the target replayed in a new isolate were given
    // to DevTools already, by the isolate it first asked.
    if (call_id >= InspectorTarget::kReplayIdBase) return;
    frontend_->SendToFrontend(InspectorStringToUtf8(message->string()));
  }
  void sendNotification(std::unique_ptr<v8_inspector::StringBuffer> message) override {
    frontend_->SendToFrontend(InspectorStringToUtf8(message->string()));
  }
  void flushProtocolNotifications() override {}

  std::unique_ptr<v8_inspector::V8InspectorSession> session;

 private:
  std::shared_ptr<InspectorFrontend> frontend_;
};

WorkerInspector::WorkerInspector(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                 std::shared_ptr<InspectorTarget> target, std::string root_dir,
                                 std::string name)
    : isolate_(isolate),
      context_(isolate, context),
      target_(std::move(target)),
      root_dir_(std::move(root_dir)),
      inspector_(v8_inspector::V8Inspector::create(isolate, this)) {
  std::u16string title = base::Utf8ToUtf16(name);
  inspector_->contextCreated(v8_inspector::V8ContextInfo(context, kContextGroup, Utf16View(title)));
}

void WorkerInspector::Attach() { target_->Bind(this, isolate_); }

WorkerInspector::~WorkerInspector() {
  target_->Unbind(this);
  v8::HandleScope scope(isolate_);
  sessions_.clear();
  closing_.clear();
  inspector_->contextDestroyed(context_.Get(isolate_));
  inspector_.reset();
}

void WorkerInspector::ExceptionThrown(v8::Local<v8::Context> context,
                                      v8::Local<v8::Value> exception,
                                      std::string_view description) {
  if (sessions_.empty()) return;
  v8::HandleScope scope(isolate_);
  // The error's own stack (captured when it was made: the isolate captures
  // detailed stacks for errors), so DevTools links each frame to its source.
  v8::Local<v8::StackTrace> frames = v8::Exception::GetStackTrace(exception);
  std::unique_ptr<v8_inspector::V8StackTrace> stack;
  if (!frames.IsEmpty()) stack = inspector_->createStackTrace(frames);
  std::u16string message = base::Utf8ToUtf16("Uncaught");
  // Only the first line: the stack goes as frames.
  std::u16string detail = base::Utf8ToUtf16(description.substr(0, description.find('\n')));
  inspector_->exceptionThrown(context, Utf16View(message), exception, Utf16View(detail),
                              v8_inspector::StringView(), 0, 0, std::move(stack), 0);
}

void WorkerInspector::Connect(int session, std::shared_ptr<InspectorFrontend> frontend) {
  v8::Isolate::Scope isolate_scope(isolate_);
  v8::HandleScope scope(isolate_);
  auto channel = std::make_unique<Channel>(std::move(frontend));
  channel->session = inspector_->connect(kContextGroup, channel.get(), v8_inspector::StringView());
  sessions_[session] = std::move(channel);
}

void WorkerInspector::Dispatch(int session, std::string_view message) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  v8::Isolate::Scope isolate_scope(isolate_);
  v8::HandleScope scope(isolate_);
  v8::Local<v8::Context> context = context_.Get(isolate_);
  v8::Context::Scope context_scope(context);
  std::u16string text = base::Utf8ToUtf16(message);
  ++dispatch_depth_;
  it->second->session->dispatchProtocolMessage(Utf16View(text));
  if (--dispatch_depth_ == 0) closing_.clear();
}

void WorkerInspector::Disconnect(int session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  v8::Isolate::Scope isolate_scope(isolate_);
  v8::HandleScope scope(isolate_);
  // Dropping the V8 session resumes a paused isolate.
  std::unique_ptr<Channel> channel = std::move(it->second);
  sessions_.erase(it);
  if (dispatch_depth_ > 0) {
    channel->session->resume();
    closing_.push_back(std::move(channel));
    return;
  }
  channel->session.reset();
}

void WorkerInspector::runMessageLoopOnPause(int) {
  if (paused_) return;
  paused_ = true;
  // The worker's loop waits while the isolate is stopped: DevTools'
  // messages are taken from here until one resumes it.
  while (paused_) {
    if (!target_->WaitAndProcess()) break;
  }
  paused_ = false;
}

v8::Local<v8::Context> WorkerInspector::ensureDefaultContextInGroup(int) {
  return context_.Get(isolate_);
}

double WorkerInspector::currentTimeMS() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count()) /
         1000.0;
}

std::unique_ptr<v8_inspector::StringBuffer> WorkerInspector::resourceNameToUrl(
    const v8_inspector::StringView& resource_name) {
  std::string name = InspectorStringToUtf8(resource_name);
  // The runtime's own scripts (edge:internal/...) and built-in modules keep
  // their names; a worker's modules are paths relative to its root.
  if (name.empty() || (name.find(':') != std::string::npos && name.front() != '/')) return nullptr;
  std::string path = name.front() == '/' ? name : root_dir_ + "/" + name;
  std::u16string url = base::Utf8ToUtf16(FileUrl(path));
  return v8_inspector::StringBuffer::create(Utf16View(url));
}

}  // namespace edge::runtime
