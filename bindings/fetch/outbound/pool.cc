// The per-origin keep-alive pool: a bound on connections, a FIFO of waiting
// requests, idle connections reused most-recently-used first.
#include <algorithm>

#include "bindings/fetch/outbound/internal.h"

namespace edge::bindings::outbound {

Pool::Pool(Shard* shard, std::string key, const Target& target)
    : shard_(shard), key_(std::move(key)), target_(target) {}

Pool::~Pool() { CloseAll(Status(ErrorCode::kTypeError, "The outbound client shut down.")); }

void Pool::CloseAll(const Status& status) {
  auto queue = std::move(queue_);
  queue_.clear();
  for (auto& transaction : queue) shard_->Finish(transaction.get(), status);
  std::vector<Connection*> all;
  for (auto& connection : connections_) all.push_back(connection.get());
  for (Connection* connection : all) connection->Close(status);
}

void Pool::Submit(std::shared_ptr<Transaction> transaction, bool front) {
  transaction->state_ = Transaction::State::kQueued;
  transaction->pool_ = this;
  transaction->connection_ = nullptr;
  if (front) {
    queue_.push_front(std::move(transaction));
  } else {
    queue_.push_back(std::move(transaction));
  }
  Dispatch();
}

void Pool::Remove(Transaction* transaction) {
  auto it = std::find_if(queue_.begin(), queue_.end(),
                         [&](const auto& t) { return t.get() == transaction; });
  if (it != queue_.end()) queue_.erase(it);
  shard_->MaybeDropPool(this);
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
        Connection* connection = idle_.front();
        idle_.pop_front();
        std::shared_ptr<Transaction> transaction = std::move(queue_.front());
        queue_.pop_front();
        connection->Begin(std::move(transaction));
        continue;
      }
      // A new connection only for a request that no connection being set
      // up will take.
      if (connections_.size() < max && connecting_ < queue_.size()) {
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
  Dispatch();
}

void Pool::OnConnectionClosed(Connection* connection, bool was_connecting, const Status& status) {
  idle_.remove(connection);
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if (it->get() == connection) {
      (void)it->release();  // the connection frees itself once its handles closed
      connections_.erase(it);
      break;
    }
  }
  if (was_connecting) {
    if (connecting_ > 0) --connecting_;
    // The request this connection was opened for learns why it failed.
    if (!status.ok() && !queue_.empty()) {
      std::shared_ptr<Transaction> transaction = std::move(queue_.front());
      queue_.pop_front();
      shard_->Finish(transaction.get(), status);
    }
  }
  if (!shard_->stopping()) Dispatch();
}

}  // namespace edge::bindings::outbound
