// The runtime's own JavaScript as V8 external strings: each file is wrapped
// once per process and V8 reads it where it lies, so an isolate holds no
// copy of it. The runtime's sources are about 1.2 MB; before this every
// isolate made from the startup snapshot deserialised its own copy into
// its old space (half of what an idle worker held).
//
// A snapshot keeps such a string as a reference to its resource (V8
// serialises an external string whose resource address is one of the
// snapshot's external references as that reference), so the resources'
// addresses go into SnapshotExternalReferences() in a fixed order, the same
// in the process that makes the snapshot and in every process that reads it.
#pragma once

#include <v8.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace edge::runtime {

// One wrapped source, alive for the rest of the process. One byte per
// character when the text is ASCII, UTF-16 otherwise (V8 reads one-byte
// strings as Latin-1, not UTF-8).
class StaticSource {
 public:
  // `prefix` + `body` + `suffix`, `body` UTF-8.
  StaticSource(std::string_view prefix, std::string_view body, std::string_view suffix);
  StaticSource(const StaticSource&) = delete;
  StaticSource& operator=(const StaticSource&) = delete;
  ~StaticSource();

  v8::MaybeLocal<v8::String> NewString(v8::Isolate* isolate) const;

  // The bytes V8 counts for the string (as external memory).
  size_t payload_bytes() const;

  // The address V8 keeps for the string's resource (the snapshot's
  // external reference).
  intptr_t resource_address() const;

 private:
  class OneByte;
  class TwoByte;
  std::unique_ptr<OneByte> one_byte_;
  std::unique_ptr<TwoByte> two_byte_;
};

// kRuntimeJs wrapped as RunRuntimeJs evaluates each file, in kRuntimeJs's
// order; made on the first call, never freed.
const std::vector<std::unique_ptr<StaticSource>>& RuntimeJsSources();

// kLazyJs wrapped the same way (runtime/lazy_js.h), in kLazyJs's order;
// made on the first call, never freed.
const std::vector<std::unique_ptr<StaticSource>>& LazyJsSources();

// The sum of RuntimeJsSources()' payload_bytes(): what every isolate's heap statistics
// count as external memory for them.
size_t RuntimeJsSourceBytes();

// kNodeJs[index] wrapped as a node: module is evaluated
// (runtime/node/node_modules.cc); made on its first use, never freed.
const StaticSource& NodeJsSource(size_t index);

}  // namespace edge::runtime
