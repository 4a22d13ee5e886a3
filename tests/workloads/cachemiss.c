/* Cache behaviour in known functions: chase_pointers() follows a random
 * cycle through 64 MiB (a cache miss per step); compute() does arithmetic
 * in registers. They alternate so that both are sampled.
 * Usage: cachemiss [ROUNDS [PHASE_MS]] (default 40, 50). Each phase runs for
 * PHASE_MS of thread CPU time (not a number of steps), so that each
 * function gets the same share of samples on any machine. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define SLOTS (8u << 20) /* 8 Mi pointers = 64 MiB */

volatile uintptr_t sink;

static long long thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Follows the cycle for `ns` of thread CPU time. */
__attribute__((noinline)) uintptr_t chase_pointers(uintptr_t* next, uintptr_t start, long long ns) {
  const long long end = thread_cpu_ns() + ns;
  uintptr_t p = start;
  do {
    for (int i = 0; i < 10000; ++i) p = next[p];
  } while (thread_cpu_ns() < end);
  return p;
}

__attribute__((noinline)) void compute(long long ns) {
  const long long end = thread_cpu_ns() + ns;
  uint64_t x = sink | 1;
  do {
    for (int i = 0; i < 100000; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
    sink = x;
  } while (thread_cpu_ns() < end);
}

int main(int argc, char** argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 40;
  long long phase_ns = (argc > 2 ? atol(argv[2]) : 50) * 1000000LL;
  uintptr_t* next = malloc(SLOTS * sizeof(uintptr_t));
  uint32_t* order = malloc(SLOTS * sizeof(uint32_t));
  if (!next || !order) return 1;
  /* A random single cycle (Sattolo's algorithm), so prefetchers cannot help. */
  uint64_t seed = 88172645463325252ull;
  for (uint32_t i = 0; i < SLOTS; ++i) order[i] = i;
  for (uint32_t i = SLOTS - 1; i > 0; --i) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    uint32_t j = (uint32_t)(seed % i);
    uint32_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (uint32_t i = 0; i < SLOTS; ++i) next[order[i]] = order[(i + 1) % SLOTS];
  uintptr_t p = 0;
  for (long r = 0; r < rounds; ++r) {
    p = chase_pointers(next, p, phase_ns);
    compute(phase_ns);
  }
  sink = p;
  free(order);
  free(next);
  return 0;
}
