// The per-origin keep-alive pool: a bound on connections, waiting requests
// served fairly between tenants (fair_queue.h), idle connections reused
// most-recently-used first.
#include <algorithm>

#include "bindings/fetch/outbound/internal.h"

namespace edge::bindings::outbound {

namespace {

// Connections of one origin a tenant may hold: the option, or half of the
// origin's (so a second tenant always finds room), at least one.
size_t TenantShare(const ClientOptions& options) {
  if (options.max_connections_per_tenant_per_origin > 0) {
    return std::min(options.max_connections_per_tenant_per_origin,
                    options.max_connections_per_origin);
  }
  return std::max<size_t>(1, options.max_connections_per_origin / 2);
}

}  // namespace

Pool::Pool(Shard* shard, std::string key, const Target& target)
    : shard_(shard), key_(std::move(key)), target_(target), queue_(TenantShare(shard->options())) {}

Pool::~Pool() { CloseAll(Status(ErrorCode::kTypeError, "The outbound client shut down.")); }

void Pool::CloseAll(const Status& status) {
  auto queue = queue_.TakeAll();
  for (auto& transaction : queue) shard_->Finish(transaction.get(), status);
  std::vector<Connection*> all;
  for (auto& connection : connections_) all.push_back(connection.get());
  for (Connection* connection : all) connection->Close(status);
}

void Pool::Submit(std::shared_ptr<Transaction> transaction, bool front) {
  transaction->state_ = Transaction::State::kQueued;
  transaction->pool_ = this;
  transaction->connection_ = nullptr;
  queue_.Push(std::move(transaction), front);
  Dispatch();
}

void Pool::Remove(Transaction* transaction) {
  queue_.Remove(transaction);
  shard_->MaybeDropPool(this);
}

void Pool::Release(Transaction* transaction) {
  if (!transaction->holds_share_) return;
  transaction->holds_share_ = false;
  queue_.Release(transaction->head_.tenant);
}

void Pool::Dispatch() {
  if (dispatching_) {
    redispatch_ = true;
    return;
  }
  dispatching_ = true;
  const size_t max = shard_->options().max_connections_per_origin;
  do {
    redispatch_ = false;
    while (!queue_.empty()) {
      if (!idle_.empty()) {
        std::shared_ptr<Transaction> transaction = queue_.Next();
        if (transaction == nullptr) break;  // every waiting tenant holds its share
        Connection* connection = idle_.front();
        idle_.pop_front();
        shard_->MarkBusy(connection);
        queue_.Hold(transaction->head_.tenant);
        transaction->holds_share_ = true;
        connection->Begin(std::move(transaction));
        continue;
      }
      // A new connection only for a request that could take it and that no
      // connection being set up will take, and within the shard's bound.
      if (connections_.size() < max && connecting_ < queue_.ready() &&
          shard_->ReserveConnection(this)) {
        connections_.push_back(std::make_unique<Connection>(shard_, this));
        ++connecting_;
        connections_.back()->Open();
        continue;
      }
      break;
    }
  } while (redispatch_);
  dispatching_ = false;
  shard_->MaybeDropPool(this);
}

void Pool::OnConnectionReady(Connection* connection) {
  if (connecting_ > 0) --connecting_;
  OnConnectionIdle(connection);
}

void Pool::OnConnectionIdle(Connection* connection) {
  idle_.push_front(connection);
  shard_->MarkIdle(connection);
  Dispatch();
}

void Pool::OnConnectionClosed(Connection* connection, bool was_connecting, const Status& status) {
  idle_.remove(connection);
  shard_->MarkBusy(connection);
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if (it->get() == connection) {
      (void)it->release();  // the connection frees itself once its handles closed
      connections_.erase(it);
      shard_->ConnectionGone();
      break;
    }
  }
  if (was_connecting) {
    if (connecting_ > 0) --connecting_;
    // The request this connection was opened for learns why it failed.
    if (!status.ok()) {
      std::shared_ptr<Transaction> transaction = queue_.Next();
      if (transaction != nullptr) shard_->Finish(transaction.get(), status);
    }
  }
  if (!shard_->stopping()) Dispatch();
}

}  // namespace edge::bindings::outbound
