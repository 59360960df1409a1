// One top-level request and every worker invocation it causes through
// service bindings (a chain or a fan-out). As on Workers, they share the
// top-level request's limits: at most kMaxChainInvocations invocations in
// all, and the CPU limit of the worker the request reached first. Shared by
// the invocations it reaches, which may run on different threads of a node
// (a callee on the quarantine thread), hence the atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace edge::runtime {

inline constexpr uint32_t kMaxChainInvocations = 32;

struct RequestChain {
  // A chain for a request that reached a worker whose CPU limit is
  // `cpu_limit_ms` (0: none, and the chain has no CPU budget either).
  static std::shared_ptr<RequestChain> TopLevel(uint64_t cpu_limit_ms) {
    auto chain = std::make_shared<RequestChain>();
    chain->cpu_budget_ns = cpu_limit_ms * 1000000u;
    return chain;
  }

  // Counts one more invocation; false (and nothing counted) when the chain
  // already has kMaxChainInvocations.
  bool AddInvocation() {
    uint32_t seen = invocations.load();
    do {
      if (seen >= kMaxChainInvocations) return false;
    } while (!invocations.compare_exchange_weak(seen, seen + 1));
    return true;
  }

  bool has_cpu_budget() const { return cpu_budget_ns != 0; }
  // The CPU the chain may still use, in nanoseconds (0: spent). Only
  // meaningful with a budget.
  uint64_t CpuLeftNs() const {
    uint64_t used = cpu_used_ns.load(std::memory_order_relaxed);
    return used >= cpu_budget_ns ? 0 : cpu_budget_ns - used;
  }
  // CPU one of its invocations used, on whatever thread it ran.
  void ChargeCpu(uint64_t ns) { cpu_used_ns.fetch_add(ns, std::memory_order_relaxed); }
  // An entry was stopped at what the chain had left: whatever the
  // measurement's rounding, nothing is left (its other invocations are
  // stopped when they run again).
  void MarkSpent() {
    uint64_t used = cpu_used_ns.load();
    while (used < cpu_budget_ns && !cpu_used_ns.compare_exchange_weak(used, cpu_budget_ns)) {
    }
  }

  std::atomic<uint32_t> invocations{1};  // the top-level one
  // Set once, before the chain is shared.
  uint64_t cpu_budget_ns = 0;
  std::atomic<uint64_t> cpu_used_ns{0};
};

}  // namespace edge::runtime
