/* A small program the report tests symbolize (it is never run by them).
 * Built with -g -O2 so rp_middle holds an inlined copy of rp_inlined. */
#include <stdio.h>
#include <stdlib.h>

volatile unsigned long rp_sink;

__attribute__((noinline)) unsigned long rp_leaf(unsigned long n) {
  unsigned long acc = 0;
  for (unsigned long i = 0; i < n; ++i) acc += i * i;
  rp_sink = acc;
  return acc;
}

static inline __attribute__((always_inline)) unsigned long rp_inlined(unsigned long n) {
  unsigned long x = n;
  for (int i = 0; i < 8; ++i) x = x * 2654435761u + (unsigned long)i;
  rp_sink = x;
  return x;
}

__attribute__((noinline)) unsigned long rp_middle(unsigned long n) {
  unsigned long a = rp_inlined(n);
  return rp_leaf(a & 1023) + a;
}

int main(int argc, char** argv) {
  unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
  printf("%lu\n", rp_middle(n));
  return 0;
}
