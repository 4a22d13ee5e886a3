/* Known call chain for profiling tests: main -> a -> b -> c, where c burns
 * CPU. Usage: chain [SECONDS] [ROUNDS] (default 1.0). With ROUNDS > 0 it
 * does a fixed amount of work instead (ROUNDS x 200000 steps), for
 * overhead benchmarks. Built with frame pointers. */
#include <stdlib.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

volatile unsigned long sink;

static long rounds;

__attribute__((noinline)) void c(double seconds) {
  double end = now_s() + seconds;
  unsigned long x = 1;
  long done = 0;
  do {
    for (int i = 0; i < 200000; ++i) x = x * 6364136223846793005UL + 1442695040888963407UL;
    sink = x;
    ++done;
  } while (rounds > 0 ? done < rounds : now_s() < end);
}

__attribute__((noinline)) void b(double seconds) {
  c(seconds);
  sink++;
}

__attribute__((noinline)) void a(double seconds) {
  b(seconds);
  sink++;
}

int main(int argc, char** argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  rounds = argc > 2 ? atol(argv[2]) : 0;
  a(seconds);
  return 0;
}
