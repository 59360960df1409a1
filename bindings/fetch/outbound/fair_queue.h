// The waiting room of one origin's pool, shared fairly between tenants.
//
// Every tenant (the worker whose fetch() it is; "" for callers that are not
// a worker) has its own FIFO of waiting requests. A free connection goes to
// the tenants in turn (round robin), and never to a tenant that already
// holds its share of the origin's connections: a worker that queues 10,000
// fetches to one origin, or holds slow requests on every connection, delays
// another worker's fetch to that origin by at most one request of its own,
// not by its whole backlog. See README.md ("Fairness between tenants").
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

namespace edge::bindings::outbound {

class Transaction;

class FairQueue {
 public:
  // `share`: connections of the origin one tenant may hold at once (>= 1).
  explicit FairQueue(size_t share) : share_(share < 1 ? 1 : share) {}

  // Queues `transaction` behind its tenant's others (or first among them:
  // a request sent again after its connection failed keeps its turn).
  void Push(std::shared_ptr<Transaction> transaction, bool front);
  // Takes out a queued transaction (cancelled or timed out); true if found.
  bool Remove(const Transaction* transaction);
  // The next transaction to get a connection, or null when every waiting
  // tenant holds its share. The caller hands it a connection and counts it
  // with Hold().
  std::shared_ptr<Transaction> Next();
  // Tenant `tenant` holds one more (Hold) or one fewer (Release) connection.
  void Hold(const std::string& tenant);
  void Release(const std::string& tenant);

  // Waiting transactions, all tenants.
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Waiting transactions that Next() could hand out now.
  size_t ready() const { return ready_; }
  // Every waiting transaction, emptying the queue (shutdown).
  std::deque<std::shared_ptr<Transaction>> TakeAll();

 private:
  struct Tenant {
    std::deque<std::shared_ptr<Transaction>> waiting;
    size_t held = 0;
  };
  bool Eligible(const Tenant& tenant) const { return tenant.held < share_; }
  // Recounts ready_ after `tenant` changed (waiting or held); `ready_before`
  // is what it contributed before the change.
  void Update(const Tenant& tenant, size_t ready_before);
  void DropIfIdle(const std::string& name);

  const size_t share_;
  std::unordered_map<std::string, Tenant> tenants_;
  // Tenants with waiting transactions, in the order they get their turn.
  std::deque<std::string> turns_;
  size_t size_ = 0;
  size_t ready_ = 0;
};

}  // namespace edge::bindings::outbound
