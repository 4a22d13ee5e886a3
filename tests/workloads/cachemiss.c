/* Cache behaviour in known functions: chase_pointers() follows a random
 * cycle through 64 MiB (a cache miss per step); compute() does arithmetic
 * in registers. They alternate so that both are sampled.
 * Usage: cachemiss [ROUNDS] (default 40). */
#include <stdint.h>
#include <stdlib.h>

#define SLOTS (8u << 20) /* 8 Mi pointers = 64 MiB */

volatile uintptr_t sink;

__attribute__((noinline)) uintptr_t chase_pointers(uintptr_t* next, uintptr_t start, long steps) {
  uintptr_t p = start;
  for (long i = 0; i < steps; ++i) p = next[p];
  return p;
}

__attribute__((noinline)) void compute(long steps) {
  uint64_t x = sink | 1;
  for (long i = 0; i < steps; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
  sink = x;
}

int main(int argc, char** argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 40;
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
    p = chase_pointers(next, p, 1000000);
    compute(20000000);
  }
  sink = p;
  free(order);
  free(next);
  return 0;
}
