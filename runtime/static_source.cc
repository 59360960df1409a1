#include "runtime/static_source.h"

#include <mutex>

#include "base/ascii.h"
#include "base/utf8.h"
#include "runtime/js_sources.h"

namespace edge::runtime {

// Never disposed of: every isolate's string points at the same text, which
// lives until the process ends.
class StaticSource::OneByte : public v8::String::ExternalOneByteStringResource {
 public:
  explicit OneByte(std::string text) : text_(std::move(text)) {}
  const char* data() const override { return text_.data(); }
  size_t length() const override { return text_.size(); }

 protected:
  void Dispose() override {}

 private:
  const std::string text_;
};

class StaticSource::TwoByte : public v8::String::ExternalStringResource {
 public:
  explicit TwoByte(std::u16string text) : text_(std::move(text)) {}
  const uint16_t* data() const override { return reinterpret_cast<const uint16_t*>(text_.data()); }
  size_t length() const override { return text_.size(); }

 protected:
  void Dispose() override {}

 private:
  const std::u16string text_;
};

StaticSource::StaticSource(std::string_view prefix, std::string_view body,
                           std::string_view suffix) {
  std::string text;
  text.reserve(prefix.size() + body.size() + suffix.size());
  text.append(prefix).append(body).append(suffix);
  if (base::IsAscii(text)) {
    one_byte_ = std::make_unique<OneByte>(std::move(text));
  } else {
    two_byte_ = std::make_unique<TwoByte>(base::Utf8ToUtf16(text));
  }
}

StaticSource::~StaticSource() = default;

v8::MaybeLocal<v8::String> StaticSource::NewString(v8::Isolate* isolate) const {
  if (one_byte_) return v8::String::NewExternalOneByte(isolate, one_byte_.get());
  return v8::String::NewExternalTwoByte(isolate, two_byte_.get());
}

size_t StaticSource::payload_bytes() const {
  return one_byte_ ? one_byte_->length() : two_byte_->length() * sizeof(uint16_t);
}

intptr_t StaticSource::resource_address() const {
  return one_byte_ ? reinterpret_cast<intptr_t>(one_byte_.get())
                   : reinterpret_cast<intptr_t>(two_byte_.get());
}

namespace {

// Every file of `files` wrapped as the body of `function (native, internals)`,
// as RunRuntimeJs and LoadLazyJs evaluate them. Leaked on purpose: isolates
// may outlive static destruction at exit.
std::vector<std::unique_ptr<StaticSource>>* WrapRuntimeFiles(const JsSource* files, size_t count) {
  auto* made = new std::vector<std::unique_ptr<StaticSource>>();
  made->reserve(count);
  for (size_t i = 0; i < count; ++i) {
    made->push_back(std::make_unique<StaticSource>(
        "(function (native, internals) { \"use strict\";\n", files[i].source, "\n})"));
  }
  return made;
}

}  // namespace

const std::vector<std::unique_ptr<StaticSource>>& RuntimeJsSources() {
  static auto* sources = WrapRuntimeFiles(kRuntimeJs, kRuntimeJsCount);
  return *sources;
}

const std::vector<std::unique_ptr<StaticSource>>& LazyJsSources() {
  static auto* sources = WrapRuntimeFiles(kLazyJs, kLazyJsCount);
  return *sources;
}

size_t RuntimeJsSourceBytes() {
  static const size_t bytes = [] {
    size_t sum = 0;
    for (const auto& source : RuntimeJsSources()) sum += source->payload_bytes();
    return sum;
  }();
  return bytes;
}

const StaticSource& NodeJsSource(size_t index) {
  static std::mutex mutex;
  static auto* sources = new std::vector<std::unique_ptr<StaticSource>>(kNodeJsCount);
  std::lock_guard lock(mutex);
  std::unique_ptr<StaticSource>& source = (*sources)[index];
  if (!source) {
    source = std::make_unique<StaticSource>(
        "(function (internals, require, host) { \"use strict\";\n", kNodeJs[index].source, "\n})");
  }
  return *source;
}

}  // namespace edge::runtime
