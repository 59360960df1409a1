// Small pieces the node's unit tests share: a ServedWorker built from
// source text (the way the node builds one from a bundle, modules in
// memory), and request bodies and sinks the test drives by hand.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gateway/deploy/bundle.h"
#include "gateway/node/node_state.h"
#include "runtime/response_sink.h"

namespace edge::gateway::testing {

// A one-module worker ("index.js" holding `source`) as the node serves it:
// spec from its bundle, modules in memory under a root naming `instance`.
std::shared_ptr<const ServedWorker> MakeServed(const std::string& name, uint64_t instance,
                                               const std::string& source,
                                               const WorkerLimits& limits = {});

// The canonical bundle JSON of a one-module worker, for the admin API;
// `services`: its service bindings (binding -> worker name).
std::string BundleJson(const std::string& name, const std::string& source,
                       const std::vector<std::string>& routes,
                       std::vector<runtime::WorkerVar> vars = {}, const WorkerLimits& limits = {},
                       std::vector<std::pair<std::string, std::string>> services = {});

// A request body the test feeds: Read keeps the reader, and the test calls
// Deliver/End/Error when it wants (on the thread the source belongs to).
class ManualBody : public runtime::RequestBodySource {
 public:
  void Read(Reader reader) override {
    reader_ = std::move(reader);
    read_ = true;
    read_thread_ = std::this_thread::get_id();
  }
  void Pause(bool paused) override {
    pauses_.push_back(paused);
    pause_thread_ = std::this_thread::get_id();
  }

  bool read() const { return read_; }
  void Deliver(std::string_view chunk) {
    if (reader_.on_data) reader_.on_data(chunk);
  }
  void End() {
    if (reader_.on_end) reader_.on_end();
  }
  void Error(std::string_view message) {
    if (reader_.on_error) reader_.on_error(message);
  }
  const std::vector<bool>& pauses() const { return pauses_; }
  std::thread::id read_thread() const { return read_thread_; }
  std::thread::id pause_thread() const { return pause_thread_; }

 private:
  Reader reader_;
  bool read_ = false;
  std::vector<bool> pauses_;
  std::thread::id read_thread_;
  std::thread::id pause_thread_;
};

}  // namespace edge::gateway::testing
