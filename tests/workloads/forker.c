/* Forks short-lived children: each burns CPU in child_burn() for a few
 * milliseconds and exits. Usage: forker [CHILDREN] [MS_EACH] (default 40, 20).
 * Tests that samples of exited children still symbolize. */
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long sink;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void child_burn(double seconds) {
  double end = now_s() + seconds;
  unsigned long x = 7;
  do {
    for (int i = 0; i < 20000; ++i) x = x * 2862933555777941757UL + 3037000493UL;
    sink = x;
  } while (now_s() < end);
}

__attribute__((noinline)) void child_main(double seconds) {
  child_burn(seconds);
  sink++;
}

int main(int argc, char** argv) {
  int children = argc > 1 ? atoi(argv[1]) : 40;
  double ms = argc > 2 ? atof(argv[2]) : 20;
  for (int i = 0; i < children; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      child_main(ms / 1000.0);
      _exit(0);
    }
    if (pid > 0) waitpid(pid, NULL, 0);
  }
  return 0;
}
