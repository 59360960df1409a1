// A whole `edge serve` node in the test's process: a temporary data dir and
// admin token, listeners on free ports (port 0), Node::Run on a thread of
// its own, and blocking clients for its traffic and admin ports. Restart
// keeps the data dir, so tests can see what a node serves from its store.
#pragma once

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "base/testing/temp_dir.h"
#include "gateway/node/node.h"
#include "gateway/node/node_options.h"
#include "gateway/http/testing/http_test_client.h"

namespace edge::gateway::testing {

class NodeHarness {
 public:
  static constexpr const char* kToken = "test-admin-token-0123456789";

  NodeHarness();
  // Stops the node if it runs and removes the data dir.
  ~NodeHarness();
  NodeHarness(const NodeHarness&) = delete;
  NodeHarness& operator=(const NodeHarness&) = delete;

  // What the next Start uses: one serving thread, 127.0.0.1 on port 0,
  // the access log in a file of the data dir.
  NodeOptions& options() { return options_; }
  const std::string& dir() const { return dir_; }

  // Starts a node and waits until it is ready. False when Run returned
  // first (exit_code() says with what).
  bool Start();
  // Stops it (as SIGTERM would) and waits for Run to return; its exit code.
  int Stop();
  // Stop, then Start on the same data dir.
  bool Restart();
  int exit_code() const { return exit_code_; }

  Node& node() { return *node_; }
  const Node::Ports& ports() const { return ports_; }

  // A request to the traffic port, for `host`.
  std::optional<Response> Request(std::string_view method, std::string_view host,
                                  std::string_view path, std::string_view body = "",
                                  const HeaderList& headers = {});
  std::optional<Response> Get(std::string_view host, std::string_view path = "/") {
    return Request("GET", host, path);
  }
  // A call to the admin API, with `token` ("" = no Authorization header).
  std::optional<Response> Admin(std::string_view method, std::string_view path,
                                std::string_view body = "", std::string_view token = kToken);
  // The body of a 200 admin answer, or a description of what came instead.
  std::string AdminOk(std::string_view method, std::string_view path, std::string_view body = "");

  // Runs `task` on the node's control loop and waits for it.
  void OnControl(std::function<void()> task);

 private:
  NodeOptions options_;
  base::testing::TempDir temp_{"edge-node-test"};
  std::string dir_ = temp_.path();
  std::unique_ptr<Node> node_;
  std::thread runner_;
  Node::Ports ports_;
  int exit_code_ = 0;
};

}  // namespace edge::gateway::testing
