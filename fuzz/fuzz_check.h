// FUZZ_CHECK: an invariant of the code under fuzzing. A broken one is a bug
// like a crash, so it aborts with a message (libFuzzer then saves the input;
// the replay tests fail).
//
// FUZZ_NOTE: with EDGE_FUZZ_VERBOSE=1 in the environment, a target says what
// became of each input (refused and why, accepted), which shows whether a
// seed reaches what it was written for.
#pragma once

#include <cstdio>
#include <cstdlib>

inline bool FuzzVerbose() {
  static const bool verbose = std::getenv("EDGE_FUZZ_VERBOSE") != nullptr;
  return verbose;
}

#define FUZZ_NOTE(...)                                 \
  do {                                                 \
    if (FuzzVerbose()) {                               \
      std::fprintf(stderr, "  -> " __VA_ARGS__);      \
      std::fputc('\n', stderr);                        \
    }                                                  \
  } while (0)

#define FUZZ_CHECK(condition, message)                                                  \
  do {                                                                                  \
    if (!(condition)) {                                                                 \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__, \
                   #condition, message);                                                \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)
