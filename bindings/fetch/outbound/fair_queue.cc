#include "bindings/fetch/outbound/fair_queue.h"

#include <algorithm>

#include "bindings/fetch/outbound/internal.h"

namespace edge::bindings::outbound {
namespace {

const std::string& TenantOf(const Transaction& transaction) { return transaction.head_.tenant; }

// What one tenant adds to ready_: the requests it could be handed now.
size_t Contribution(const std::deque<std::shared_ptr<Transaction>>& waiting, size_t held,
                    size_t share) {
  if (held >= share) return 0;
  return std::min(waiting.size(), share - held);
}

}  // namespace

void FairQueue::Update(const Tenant& tenant, size_t ready_before) {
  ready_ = ready_ - ready_before + Contribution(tenant.waiting, tenant.held, share_);
}

void FairQueue::Push(std::shared_ptr<Transaction> transaction, bool front) {
  const std::string name = TenantOf(*transaction);
  Tenant& tenant = tenants_[name];
  const size_t before = Contribution(tenant.waiting, tenant.held, share_);
  if (tenant.waiting.empty()) turns_.push_back(name);
  if (front) {
    tenant.waiting.push_front(std::move(transaction));
  } else {
    tenant.waiting.push_back(std::move(transaction));
  }
  ++size_;
  Update(tenant, before);
}

bool FairQueue::Remove(const Transaction* transaction) {
  const std::string name = TenantOf(*transaction);
  auto found = tenants_.find(name);
  if (found == tenants_.end()) return false;
  Tenant& tenant = found->second;
  auto it = std::find_if(tenant.waiting.begin(), tenant.waiting.end(),
                         [&](const auto& t) { return t.get() == transaction; });
  if (it == tenant.waiting.end()) return false;
  const size_t before = Contribution(tenant.waiting, tenant.held, share_);
  tenant.waiting.erase(it);
  --size_;
  Update(tenant, before);
  if (tenant.waiting.empty()) turns_.erase(std::find(turns_.begin(), turns_.end(), name));
  DropIfIdle(name);
  return true;
}

std::shared_ptr<Transaction> FairQueue::Next() {
  // Each waiting tenant is looked at once at most: one over its share
  // goes to the back of the line and keeps its requests.
  for (size_t looked = 0, n = turns_.size(); looked < n; ++looked) {
    std::string name = std::move(turns_.front());
    turns_.pop_front();
    Tenant& tenant = tenants_[name];
    if (!Eligible(tenant)) {
      turns_.push_back(std::move(name));
      continue;
    }
    const size_t before = Contribution(tenant.waiting, tenant.held, share_);
    std::shared_ptr<Transaction> next = std::move(tenant.waiting.front());
    tenant.waiting.pop_front();
    --size_;
    Update(tenant, before);
    if (!tenant.waiting.empty()) turns_.push_back(name);
    // The tenant entry stays: the caller holds a connection for it next.
    return next;
  }
  return nullptr;
}

void FairQueue::Hold(const std::string& name) {
  Tenant& tenant = tenants_[name];
  const size_t before = Contribution(tenant.waiting, tenant.held, share_);
  ++tenant.held;
  Update(tenant, before);
}

void FairQueue::Release(const std::string& name) {
  auto found = tenants_.find(name);
  if (found == tenants_.end() || found->second.held == 0) return;
  Tenant& tenant = found->second;
  const size_t before = Contribution(tenant.waiting, tenant.held, share_);
  --tenant.held;
  Update(tenant, before);
  DropIfIdle(name);
}

std::deque<std::shared_ptr<Transaction>> FairQueue::TakeAll() {
  std::deque<std::shared_ptr<Transaction>> all;
  for (const std::string& name : turns_) {
    for (auto& transaction : tenants_[name].waiting) all.push_back(std::move(transaction));
    tenants_[name].waiting.clear();
  }
  turns_.clear();
  for (auto it = tenants_.begin(); it != tenants_.end();) {
    it = it->second.held == 0 ? tenants_.erase(it) : std::next(it);
  }
  size_ = 0;
  ready_ = 0;
  return all;
}

void FairQueue::DropIfIdle(const std::string& name) {
  auto found = tenants_.find(name);
  if (found != tenants_.end() && found->second.waiting.empty() && found->second.held == 0) {
    tenants_.erase(found);
  }
}

}  // namespace edge::bindings::outbound
