/* Page faults in one known function: fault_pages() maps fresh anonymous
 * memory and touches every page; compute() does arithmetic only. They
 * alternate so that both are sampled.
 * Usage: faults [ROUNDS] [PAGES_PER_ROUND] (default 200, 1024). */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

volatile unsigned long sink;

__attribute__((noinline)) void fault_pages(long pages) {
  long page = sysconf(_SC_PAGESIZE);
  char* mem = mmap(NULL, (size_t)(pages * page), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) abort();
  for (long i = 0; i < pages; ++i) mem[i * page] = (char)i;
  sink += (unsigned long)mem[page];
  munmap(mem, (size_t)(pages * page));
}

__attribute__((noinline)) void compute(long steps) {
  unsigned long x = sink | 1;
  for (long i = 0; i < steps; ++i) x = x * 6364136223846793005UL + 1442695040888963407UL;
  sink = x;
}

int main(int argc, char** argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 200;
  long pages = argc > 2 ? atol(argv[2]) : 1024;
  for (long r = 0; r < rounds; ++r) {
    compute(2000000);
    fault_pages(pages);
  }
  return 0;
}
