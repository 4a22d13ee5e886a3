/* Functions of assorted frame shapes, built with -Wa,--gsframe so that the
 * SFrame parser meets every encoding gas picks: 1-, 2- and 4-byte FRE start
 * offsets (small, >255-byte and >64 KiB functions), 1-, 2- and 4-byte CFA
 * offsets (small, ~1 KiB and ~100 KiB stack frames), FP-based CFAs (a
 * variable-length array forces a frame pointer even with
 * -fomit-frame-pointer), and PLT calls into libc. Usage: shapes [N]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile unsigned long sink;

__attribute__((noinline)) unsigned long small_frame(unsigned long x) {
  volatile char buf[64];
  buf[x % 64] = (char)x;
  return buf[(x + 1) % 64] + x;
}

__attribute__((noinline)) unsigned long medium_frame(unsigned long x) {
  volatile char buf[1000];
  memset((char*)buf, (int)x, sizeof(buf));
  return buf[x % 1000] + small_frame(x);
}

__attribute__((noinline)) unsigned long huge_frame(unsigned long x) {
  volatile char buf[100000];
  memset((char*)buf, (int)x, sizeof(buf));
  return buf[x % 100000] + medium_frame(x);
}

__attribute__((noinline)) unsigned long vla_frame(unsigned long n) {
  volatile char buf[n + 1];
  for (unsigned long i = 0; i <= n; ++i) buf[i] = (char)i;
  return buf[n / 2] + huge_frame(n);
}

/* Filler instructions that cost nothing to compile. */
#define NOPS(n) __asm__ volatile(".skip " #n ", 0x90")

/* A few hundred bytes of code, with pushes around a call: 2-byte starts. */
__attribute__((noinline)) unsigned long mid_size(unsigned long x) {
  NOPS(300);
  unsigned long r = vla_frame(x % 50 + 1);
  NOPS(300);
  return r + sink;
}

/* More than 64 KiB of code, with a call and an epilogue at the far end,
 * so some FREs start past offset 65535: 4-byte starts. */
__attribute__((noinline)) unsigned long big_size(unsigned long x) {
  unsigned long r = mid_size(x);
  NOPS(70000);
  r += mid_size(r);
  return r + sink;
}

static int compare(const void* a, const void* b) {
  unsigned long x = *(const unsigned long*)a, y = *(const unsigned long*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 3;
  unsigned long v[16];
  for (int i = 0; i < 16; ++i) v[i] = big_size(n + i);
  qsort(v, 16, sizeof(v[0]), compare);
  printf("%lu\n", v[0]);
  return 0;
}
