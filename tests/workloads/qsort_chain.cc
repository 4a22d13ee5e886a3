// Known call chain that passes through libc, so that libc frames (no frame
// pointers, no .sframe: only .eh_frame) sit in the middle of the stack:
//
//   main -> run_rounds -> sort_once -> qsort (libc) -> ... -> compare_keys
//        -> key_weight
//
// Observed with glibc 2.36 (Debian 12), perf record --call-graph dwarf:
//
//   _start -> __libc_start_main -> __libc_start_call_main -> main
//   -> run_rounds -> sort_once
//   -> qsort_r (debug name __GI___qsort_r; qsort itself jumps to it
//      without a frame, so qsort never shows up)
//   -> msort_with_tmp.part.0, recursive: 1 to 12 frames for 4096 keys
//      (a local symbol: only libc's separate debug info names it; .dynsym
//      has nothing there)
//   -> compare_keys -> key_weight
//
// glibc falls back to _quicksort instead of msort_with_tmp only when the
// temporary buffer would exceed a quarter of physical memory or malloc
// fails; 4096 x 8 bytes always takes the msort path.
//
// key_weight does a few dozen multiply-xorshift rounds per call, so most
// samples land in key_weight or compare_keys, under qsort. The chain
// functions are extern "C" so that their symbols are the plain names above.
//
// Usage: workload_qsort [SECONDS] (default 1.0): sorts a fresh pseudo-random
// array of 4096 keys per round until SECONDS of thread CPU time are used.
// Built with -O2 -fomit-frame-pointer -fno-optimize-sibling-calls.
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <vector>

#if defined(__clang__)
#define WORKLOAD_NOINLINE __attribute__((noinline))
#else
// noclone: keep the symbol names free of .constprop/.isra suffixes.
#define WORKLOAD_NOINLINE __attribute__((noinline, noclone))
#endif

namespace {

constexpr size_t kKeys = 4096;
constexpr int kWeightRounds = 48;

volatile uint64_t sink;

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

extern "C" {

// The leaf: a deterministic mixing of the key, the CPU burner.
WORKLOAD_NOINLINE uint64_t key_weight(uint64_t key) {
  for (int i = 0; i < kWeightRounds; ++i) {
    key *= 0x9e3779b97f4a7c15ULL;
    key ^= key >> 29;
    key ^= key << 11;
  }
  return key;
}

// The qsort comparator: called by libc through a function pointer.
WORKLOAD_NOINLINE int compare_keys(const void* lhs, const void* rhs) {
  uint64_t a = key_weight(*static_cast<const uint64_t*>(lhs));
  uint64_t b = key_weight(*static_cast<const uint64_t*>(rhs));
  return (a > b) - (a < b);
}

WORKLOAD_NOINLINE void sort_once(std::vector<uint64_t>& keys, uint64_t& seed) {
  for (uint64_t& k : keys) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    k = seed;
  }
  qsort(keys.data(), keys.size(), sizeof(uint64_t), compare_keys);
  sink = keys.front() ^ keys.back();
}

WORKLOAD_NOINLINE long run_rounds(double seconds) {
  std::vector<uint64_t> keys(kKeys);
  uint64_t seed = 0x2545f4914f6cdd1dULL;
  double end = ThreadCpuSeconds() + seconds;
  long rounds = 0;
  do {
    sort_once(keys, seed);
    ++rounds;
  } while (ThreadCpuSeconds() < end);
  return rounds;
}

}  // extern "C"

int main(int argc, char** argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  sink = static_cast<uint64_t>(run_rounds(seconds));
  return 0;
}
