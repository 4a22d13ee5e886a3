/* The library whole_stacks dlopens: lib_spin spins for a CPU time in its
 * own code, through one more frame of it (lib_inner). */
#include <time.h>

volatile unsigned long lib_sink;

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void lib_inner(double seconds) {
  double end = cpu_now() + seconds;
  unsigned long x = 11;
  do {
    for (int i = 0; i < 20000; ++i) x = x * 6364136223846793005UL + 1442695040888963407UL;
    lib_sink = x;
  } while (cpu_now() < end);
}

__attribute__((noinline)) void lib_spin(double seconds) {
  lib_inner(seconds);
  lib_sink++;
}
