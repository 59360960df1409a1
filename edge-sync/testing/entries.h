// For edge-sync's tests: log entries with the fields their kind shares set.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "edge-sync/entry.h"

namespace edge::sync::testing {

// When the tests' entries were logged.
inline constexpr uint64_t kEntryTimeMs = 1700000000123;

// An entry of `type` at `seq`.
inline Entry NewEntry(EntryType type, uint64_t seq) {
  Entry entry;
  entry.seq = seq;
  entry.time_ms = kEntryTimeMs;
  entry.type = type;
  return entry;
}

// The same, of the worker `worker`.
inline Entry WorkerEntry(EntryType type, uint64_t seq, std::string worker) {
  Entry entry = NewEntry(type, seq);
  entry.worker = std::move(worker);
  return entry;
}

// The same, of the secret `name` of the worker `worker`.
inline Entry SecretEntry(EntryType type, uint64_t seq, std::string worker, std::string name) {
  Entry entry = WorkerEntry(type, seq, std::move(worker));
  entry.name = std::move(name);
  return entry;
}

// An entry of `type` at `seq` for `key` in the KV namespace `ns`.
inline Entry KvEntry(EntryType type, uint64_t seq, std::string ns, std::string key) {
  Entry entry = NewEntry(type, seq);
  entry.ns = std::move(ns);
  entry.key = std::move(key);
  return entry;
}

}  // namespace edge::sync::testing
