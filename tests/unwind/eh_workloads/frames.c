// C half of the .eh_frame test workload, built -O2 -fomit-frame-pointer so
// that most CFA rules are RSP-based, with VLAs and alloca so that some
// functions move the CFA to RBP.
#include "frames.h"

#include <alloca.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Keeps the compiler from folding buffers away.
void eh_sink(volatile void* p) { (void)p; }

__attribute__((noinline)) long eh_vla_sum(int n) {
  long values[n];
  for (int i = 0; i < n; ++i) values[i] = (long)i * i + n;
  eh_sink(values);
  long sum = 0;
  for (int i = 0; i < n; ++i) sum += values[i];
  return sum;
}

__attribute__((noinline)) long eh_alloca_fill(size_t n) {
  unsigned char* buf = (unsigned char*)alloca(n);
  memset(buf, (int)(n & 0xff), n);
  eh_sink(buf);
  long sum = 0;
  for (size_t i = 0; i < n; i += 7) sum += buf[i];
  return sum + eh_vla_sum((int)(n % 64) + 1);
}

// Many live values across calls: pushes most callee-saved registers.
__attribute__((noinline)) long eh_many_saved(long a, long b, long c, long d, long e, long f) {
  long x = eh_vla_sum((int)(a & 15) + 1);
  long y = eh_alloca_fill((size_t)(b & 255) + 8);
  long z = eh_vla_sum((int)(c & 31) + 2);
  return x * a + y * b + z * c + d * e * f + x * y - z;
}

__attribute__((noinline)) long eh_recurse(int depth, long acc) {
  if (depth <= 0) return acc + eh_many_saved(acc, acc + 1, acc + 2, acc + 3, acc + 4, acc + 5);
  char pad[48];
  snprintf(pad, sizeof(pad), "%d", depth);
  eh_sink(pad);
  return eh_recurse(depth - 1, acc + pad[0]) + 1;
}
