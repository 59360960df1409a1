#include "gateway/node/testing/node_harness.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace edge::gateway::testing {

NodeHarness::NodeHarness() {
  temp_.Write("admin-token", std::string(kToken) + "\n");
  options_.listen = "127.0.0.1:0";
  options_.admin = "127.0.0.1:0";
  options_.admin_token_file = dir_ + "/admin-token";
  options_.data_dir = dir_ + "/data";
  options_.access_log = dir_ + "/access.log";
  options_.threads = 1;
  options_.pop_id = "test";
}

NodeHarness::~NodeHarness() {
  if (node_) Stop();
}

bool NodeHarness::Start() {
  node_ = std::make_unique<Node>(options_);
  auto ready = std::make_shared<std::promise<std::optional<Node::Ports>>>();
  std::future<std::optional<Node::Ports>> ready_future = ready->get_future();
  auto told = std::make_shared<bool>(false);
  node_->SetOnReady([ready, told](const Node::Ports& ports) {
    if (std::exchange(*told, true)) return;
    ready->set_value(ports);
  });
  runner_ = std::thread([this, ready, told] {
    exit_code_ = node_->Run();
    if (!std::exchange(*told, true)) ready->set_value(std::nullopt);
  });
  // Generous: a node that is not ready by then never will be.
  if (ready_future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "the node did not say it was ready within 60 s";
    node_->RequestStop();
    runner_.join();
    node_.reset();
    return false;
  }
  std::optional<Node::Ports> ports = ready_future.get();
  if (!ports) {
    runner_.join();
    node_.reset();
    return false;
  }
  ports_ = *ports;
  return true;
}

int NodeHarness::Stop() {
  if (!node_) return exit_code_;
  node_->RequestStop();
  runner_.join();
  node_.reset();
  ports_ = {};
  return exit_code_;
}

bool NodeHarness::Restart() {
  Stop();
  return Start();
}

std::optional<Response> NodeHarness::Request(std::string_view method, std::string_view host,
                                             std::string_view path, std::string_view body,
                                             const HeaderList& headers) {
  return RoundTrip(ports_.http, RequestText(method, path, host, body, headers));
}

std::optional<Response> NodeHarness::Admin(std::string_view method, std::string_view path,
                                           std::string_view body, std::string_view token) {
  HeaderList headers;
  if (!token.empty()) headers.push_back({"Authorization", fmt::format("Bearer {}", token)});
  return RoundTrip(ports_.admin, RequestText(method, path, "127.0.0.1", body, headers));
}

std::string NodeHarness::AdminOk(std::string_view method, std::string_view path,
                                 std::string_view body) {
  std::optional<Response> response = Admin(method, path, body);
  if (!response) return fmt::format("no answer to {} {}", method, path);
  if (response->status != 200) {
    return fmt::format("{} {} answered {}: {}", method, path, response->status, response->body);
  }
  return response->body;
}

void NodeHarness::OnControl(std::function<void()> task) {
  std::promise<void> done;
  node_->PostToControl([&] {
    task();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace edge::gateway::testing
