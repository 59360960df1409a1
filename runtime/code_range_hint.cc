// V8 10.2 reads /proc/self/maps for every isolate it makes: with no code
// range of the same size freed recently, CodeRange::InitReservation asks
// CodeRangeAddressHint for an address near the embedded builtins, and the
// hint scans the whole file (base::OS::GetFreeMemoryRangesWithin, getc by
// getc) to find a free gap there. Every isolate adds tens of mappings, so
// with N isolates alive the next one costs O(N): a node loading 1,000
// workers spent most of its start in that scan (docs/performance.md,
// "A restart with 1,000 workers").
//
// The scan buys a node little beyond its first isolates: the hint decides whether the 128 MB
// code range lands within 2 GB of the builtins (where V8 may call them with
// near calls), there is room for about 16 code ranges there, and when the
// scan finds no gap V8 falls back to the start of that region as its hint,
// where the kernel places the reservation if it is free and elsewhere if
// not. So the scan is given an empty file (this process's fopen, which the
// dynamic linker binds libnode's calls to) and V8 takes that fallback at
// once. Only that one caller is diverted (found by its return address);
// every other fopen, of /proc/self/maps too, is libc's.
#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstring>

namespace {

using FopenFn = FILE* (*)(const char*, const char*);

FopenFn RealFopen() {
  static FopenFn real = reinterpret_cast<FopenFn>(dlsym(RTLD_NEXT, "fopen"));
  return real;
}

// Whether the code at `address` is V8's scan for free memory ranges. Its
// call site is one address: once found, a comparison (dladdr walks
// libnode's symbols, a few percent of a load when asked every time).
bool InV8FreeRangeScan(void* address) {
  static std::atomic<void*> scan_call_site{nullptr};
  if (address == scan_call_site.load(std::memory_order_relaxed)) return true;
  Dl_info info{};
  if (dladdr(address, &info) == 0 || info.dli_sname == nullptr) return false;
  if (std::strstr(info.dli_sname, "GetFreeMemoryRangesWithin") == nullptr) return false;
  scan_call_site.store(address, std::memory_order_relaxed);
  return true;
}

}  // namespace

extern "C" FILE* fopen(const char* path, const char* mode) {
  FopenFn real = RealFopen();
  if (real == nullptr) return nullptr;
  if (path != nullptr && std::strcmp(path, "/proc/self/maps") == 0 &&
      InV8FreeRangeScan(__builtin_return_address(0))) {
    return real("/dev/null", mode);
  }
  return real(path, mode);
}

namespace edge::runtime {
// Referenced by InitializeV8, so this file is always linked into the binary.
bool CodeRangeHintDiverted() { return RealFopen() != nullptr; }
}  // namespace edge::runtime
