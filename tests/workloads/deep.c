/* Recursion deeper than the 127-frame stack limit; the leaf burns CPU.
 * Usage: deep [DEPTH] [SECONDS] (default 200, 1.0). */
#include <stdlib.h>
#include <time.h>

volatile unsigned long sink;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void leaf(double seconds) {
  double end = now_s() + seconds;
  unsigned long x = 3;
  do {
    for (int i = 0; i < 100000; ++i) x = x * 6364136223846793005UL + 1;
    sink = x;
  } while (now_s() < end);
}

__attribute__((noinline)) void recurse(int depth, double seconds) {
  if (depth <= 0) {
    leaf(seconds);
  } else {
    recurse(depth - 1, seconds);
  }
  sink++;
}

int main(int argc, char** argv) {
  int depth = argc > 1 ? atoi(argv[1]) : 200;
  double seconds = argc > 2 ? atof(argv[2]) : 1.0;
  recurse(depth, seconds);
  return 0;
}
