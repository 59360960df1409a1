// The WebSockets one isolate holds open (runtime::WebSocketChannel), by the
// id its JavaScript knows them by (runtime/websocket/websocket.js).
//
// - What a peer sends waits in a queue per socket until the isolate runs
//   it, each message in an entry of its own into the isolate
//   (internals.webSocketEvent; the watchdog times it like any other entry:
//   the worker is billed CPU while it handles an event, never while a
//   socket is idle). The queue's bytes are counted against the worker's
//   memory budget, and past kMaxQueuedBytes the socket stops being read.
// - What the worker sends and the peer has not taken yet is counted
//   against the worker's memory budget too: send() checks the budget first
//   (over it, the worker is stopped at its memory limit like any other
//   allocation), so a slow peer cannot make a worker buffer unbounded
//   memory.
// - Each open socket holds one of its tenant's slots (TenantWebSockets):
//   at most `limit` open at once per tenant (the account on a node) in the
//   process.
// - Join(a, b) splices two sockets (a worker returned a WebSocket it
//   fetched, or got from a service binding, in its 101): from then on what
//   one peer sends goes to the other here, without entering the isolate,
//   and a close on one closes the other. A socket whose partner has more
//   than kMaxQueuedBytes waiting to be written is not read until that
//   drains. Their close events still reach the isolate (which lets the
//   invocation go).
// - CloseAll closes every socket (1001 when the isolate is evicted or goes
//   away, 1012 when the worker was redeployed); the table's destructor does
//   it too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"
#include "runtime/response_sink.h"

namespace edge::runtime {

class IsolateData;

// Open WebSockets per tenant, process-wide (every thread's isolates).
class TenantWebSockets {
 public:
  // One open socket's place in its tenant's count; released when destroyed.
  class Slot {
   public:
    explicit Slot(std::string tenant) : tenant_(std::move(tenant)) {}
    ~Slot();
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    std::string tenant_;
  };
  // A slot, or the error naming the limit when `tenant` has `limit` open.
  static StatusOr<std::unique_ptr<Slot>> Take(const std::string& tenant, size_t limit);
  static size_t Open(const std::string& tenant);
};

class WebSocketTable {
 public:
  // Past this many bytes received and not yet handled, a socket is not read.
  static constexpr size_t kMaxQueuedBytes = 1u << 20;

  explicit WebSocketTable(IsolateData* data) : data_(data) {}
  ~WebSocketTable();

  // Starts delivering `channel`'s events to the isolate; returns its id.
  // `invocation` (the request's) is held until the socket closes.
  // `held`: its events wait here (the socket not read past
  // kMaxQueuedBytes) until Release, for a socket the worker has not
  // accepted yet.
  uint32_t Add(std::shared_ptr<WebSocketChannel> channel,
               std::unique_ptr<TenantWebSockets::Slot> slot, double invocation,
               bool held = false);
  // Starts delivering a held socket's events.
  void Release(uint32_t id);
  // Sends a message; fails (RangeError, the worker stopped) when the bytes
  // waiting for the peer would not fit in the memory budget. A closed or
  // unknown socket takes nothing.
  Status Send(uint32_t id, std::string_view data, bool binary);
  void Close(uint32_t id, int code, std::string_view reason);
  // Splices `a` and `b` (see above); what `a` received and the isolate has
  // not run yet goes to `b` first. False when either is not open.
  bool Join(uint32_t a, uint32_t b);
  // Bytes sent on `id` the peer has not taken yet.
  size_t BufferedBytes(uint32_t id) const;
  // Starts the close handshake of every socket with `code`; their close
  // events follow as usual.
  void CloseAll(int code, std::string_view reason);
  size_t open() const { return sockets_.size(); }

 private:
  struct Incoming {
    bool close = false;
    std::string data;  // the message, or the close reason
    bool binary = false;
    int code = 0;
    bool clean = false;
  };
  struct Socket {
    std::shared_ptr<WebSocketChannel> channel;
    std::unique_ptr<TenantWebSockets::Slot> slot;
    std::deque<Incoming> queue;
    size_t queued_bytes = 0;
    bool scheduled = false;
    bool paused = false;
    size_t charged = 0;  // outgoing bytes counted against the budget
    bool drain_waiting = false;
    double invocation = 0;
    bool held = false;
    uint32_t joined = 0;             // the partner Join spliced it to
    bool paused_for_partner = false; // not read until the partner drains
  };

  void Enqueue(uint32_t id, Incoming event);
  void Deliver(uint32_t id);
  // Counts the bytes the peer has not taken yet against the budget.
  void Recharge(uint32_t id, bool wait_for_drain);
  void Forget(Socket& socket);
  // A joined socket's event, handed to its partner; false for a close,
  // which the isolate hears too.
  bool Forward(uint32_t id, const Incoming& event);
  // The isolate goes away: every socket closes with 1001, unheard.
  void DropAll();

  IsolateData* data_;
  uint32_t next_id_ = 1;
  std::unordered_map<uint32_t, Socket> sockets_;
};

}  // namespace edge::runtime
