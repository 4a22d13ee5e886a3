/* Page faults in one known function: fault_pages() touches fresh anonymous
 * pages, one minor fault each; compute() does arithmetic only. They
 * alternate so that both are sampled.
 *
 * Usage: faults [ROUNDS PERIODS PERIOD_US] (default 10 50 1000).
 *
 * Each phase is sized in sampling periods of thread CPU time
 * (CLOCK_THREAD_CPUTIME_ID), not in work: a round is compute() for at least
 * PERIODS x PERIOD_US of CPU time, then fault_pages() faulting fresh pages
 * until it too has run for PERIODS periods. A counter read at each sample
 * charges the sample with the counts since the task's previous sample, so
 * the first sample after a phase ends is charged up to one period of that
 * phase's faults: sized this way, at most 1/PERIODS of the faults are
 * charged outside fault_pages on any machine, however fast it faults.
 * A last compute() phase follows the last fault phase, so that its tail is
 * charged to a sample too.
 *
 * At exit it prints one line on stdout, for tests to compare against:
 *   workload_faults: rounds=R touched_pages=P minflt=M majflt=J
 * touched_pages: pages fault_pages() touched (each a fresh page, so one
 * fault each); minflt/majflt: the process's own fault counts
 * (getrusage), start-up included. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Pages mapped at a time; the clock is read every CLOCK_EVERY pages. */
#define REGION_PAGES 4096L
#define CLOCK_EVERY 32L

volatile unsigned long sink;

static long long thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Touches fresh pages until `ns` of thread CPU time have passed; returns how
 * many pages it touched. */
__attribute__((noinline)) long fault_pages(long long ns) {
  const long page = sysconf(_SC_PAGESIZE);
  const size_t bytes = (size_t)(REGION_PAGES * page);
  const long long end = thread_cpu_ns() + ns;
  long touched = 0;
  int done = 0;
  while (!done) {
    char* mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) abort();
    /* Small pages only: with transparent huge pages one fault would map 512. */
    (void)madvise(mem, bytes, MADV_NOHUGEPAGE);
    long i = 0;
    while (i < REGION_PAGES && !done) {
      for (long j = 0; j < CLOCK_EVERY; ++j, ++i) mem[i * page] = (char)i;
      done = thread_cpu_ns() >= end;
    }
    touched += i;
    sink += (unsigned long)mem[0];
    munmap(mem, bytes);
  }
  return touched;
}

__attribute__((noinline)) void compute(long long ns) {
  const long long end = thread_cpu_ns() + ns;
  unsigned long x = sink | 1;
  do {
    for (int i = 0; i < 20000; ++i) x = x * 6364136223846793005UL + 1442695040888963407UL;
    sink = x;
  } while (thread_cpu_ns() < end);
}

int main(int argc, char** argv) {
  if (argc != 1 && argc != 4) {
    fprintf(stderr, "usage: %s [ROUNDS PERIODS PERIOD_US]\n", argv[0]);
    return 2;
  }
  const long rounds = argc > 1 ? atol(argv[1]) : 10;
  const long periods = argc > 2 ? atol(argv[2]) : 50;
  const double period_us = argc > 3 ? atof(argv[3]) : 1000;
  if (rounds < 0 || periods < 1 || period_us <= 0) {
    fprintf(stderr, "%s: ROUNDS >= 0, PERIODS >= 1, PERIOD_US > 0\n", argv[0]);
    return 2;
  }
  const long long phase_ns = (long long)(periods * period_us * 1000.0);
  long touched = 0;
  for (long r = 0; r < rounds; ++r) {
    compute(phase_ns);
    touched += fault_pages(phase_ns);
  }
  compute(phase_ns);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("workload_faults: rounds=%ld touched_pages=%ld minflt=%ld majflt=%ld\n", rounds, touched,
         ru.ru_minflt, ru.ru_majflt);
  return 0;
}
