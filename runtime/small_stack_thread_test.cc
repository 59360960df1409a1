// The process's static TLS stays small enough for threads with small
// stacks: V8 starts its CPU profiler's thread with a 64 KiB stack, and
// glibc refuses a thread whose stack cannot hold the static TLS of every
// loaded object (pthread_create fails with EINVAL). A large thread_local
// array anywhere in edge (base/thread_buffer.h says what to use instead)
// makes DevTools' CPU profiles come back empty. This binary links the
// runtime and every binding.
#include <gtest/gtest.h>
#include <pthread.h>

namespace {

TEST(SmallStackThreadTest, AThreadWithA64KiBStackStarts) {
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
  pthread_t thread;
  int created = pthread_create(
      &thread, &attr, [](void*) -> void* { return nullptr; }, nullptr);
  pthread_attr_destroy(&attr);
  ASSERT_EQ(created, 0) << "static TLS too large for a 64 KiB stack";
  pthread_join(thread, nullptr);
}

}  // namespace
