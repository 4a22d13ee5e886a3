/* Workloads for whole stacks on the shapes real programs have (issue 10),
 * built without frame pointers so that only unwind tables (or a deferred
 * walk) give the callers. Each spins for a given CPU time in a function
 * whose callers the tests know.
 *
 *   whole_stacks bigframe SECONDS    main -> run_big_frame -> big_frame
 *                                    (a 300 KiB frame) -> spin
 *   whole_stacks vfork SECONDS       vfork + exec /bin/true until this
 *                                    process has used SECONDS of CPU
 *   whole_stacks exec N SECONDS      spins in spin_before_exec, then execs
 *                                    itself with N-1 (N images in all)
 *   whole_stacks dlopen N SECONDS LIB
 *                                    N x dlopen LIB, call its lib_spin for
 *                                    SECONDS/N, dlclose */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long sink;

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void spin(double seconds) {
  double end = cpu_now() + seconds;
  unsigned long x = 7;
  do {
    for (int i = 0; i < 20000; ++i) x = x * 2862933555777941757UL + 3037000493UL;
    sink = x;
  } while (cpu_now() < end);
}

/* CFA = RSP + about 300 KiB: more than a row's 16-bit offset holds, and
 * more than any stack copy (perf's dwarf mode copies 8-64 KiB). */
#define BIG_FRAME_BYTES (300 * 1024)
__attribute__((noinline)) void big_frame(double seconds) {
  volatile char buf[BIG_FRAME_BYTES];
  buf[0] = 1;
  buf[BIG_FRAME_BYTES - 1] = 2;
  spin(seconds);
  sink += buf[0] + buf[BIG_FRAME_BYTES - 1];
}

__attribute__((noinline)) void run_big_frame(double seconds) {
  big_frame(seconds);
  sink++;
}

__attribute__((noinline)) void vfork_round(void) {
  pid_t pid = vfork();
  if (pid == 0) {
    execl("/bin/true", "true", (char*)NULL);
    _exit(127);
  }
  if (pid > 0) waitpid(pid, NULL, 0);
}

static double process_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The parent's CPU time goes mostly to the vfork system call (copying the
 * process) and to waiting for the child's exec. */
__attribute__((noinline)) void run_vforks(double seconds) {
  double end = process_cpu_now() + seconds;
  do vfork_round();
  while (process_cpu_now() < end);
  sink++;
}

__attribute__((noinline)) void spin_before_exec(double seconds) {
  spin(seconds);
  sink++;
}

__attribute__((noinline)) void dlopen_round(const char* lib, double seconds) {
  void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    fprintf(stderr, "whole_stacks: %s\n", dlerror());
    exit(1);
  }
  void (*lib_spin)(double) = (void (*)(double))dlsym(h, "lib_spin");
  if (lib_spin == NULL) {
    fprintf(stderr, "whole_stacks: no lib_spin in %s\n", lib);
    exit(1);
  }
  lib_spin(seconds);
  dlclose(h);
}

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "bigframe") == 0) {
    run_big_frame(atof(argv[2]));
  } else if (argc >= 3 && strcmp(argv[1], "vfork") == 0) {
    run_vforks(atof(argv[2]));
  } else if (argc >= 4 && strcmp(argv[1], "exec") == 0) {
    long n = atol(argv[2]);
    spin_before_exec(atof(argv[3]));
    if (n > 1) {
      char next[32];
      snprintf(next, sizeof next, "%ld", n - 1);
      execl("/proc/self/exe", argv[0], "exec", next, argv[3], (char*)NULL);
      perror("whole_stacks: exec");
      return 1;
    }
  } else if (argc >= 5 && strcmp(argv[1], "dlopen") == 0) {
    long n = atol(argv[2]);
    for (long i = 0; i < n; ++i) dlopen_round(argv[4], atof(argv[3]) / n);
  } else {
    fprintf(stderr,
            "usage: whole_stacks bigframe SECONDS | vfork SECONDS | exec N SECONDS | "
            "dlopen N SECONDS LIB\n");
    return 2;
  }
  return 0;
}
