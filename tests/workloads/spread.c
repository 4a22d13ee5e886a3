/* Stacks of distinct functions, for unwinder benchmarks: every sample's
 * return addresses are those of DEPTH different functions, unlike deep.c's
 * recursion, where one function repeats.
 *
 * Usage: spread [SECONDS] [DEPTH] [VARIANTS] (default 1.0, 28, 1).
 * The program holds 2048 generated functions. Level d of the stack (d = 0
 * .. DEPTH-1) is one of VARIANTS functions of its own, picked at random
 * before every short burst of leaf work: with VARIANTS 1 the path is fixed
 * (DEPTH distinct return addresses in every sample); with VARIANTS 64 and
 * DEPTH 32 every sample takes a new path through up to 2048 functions. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SPREAD_FUNCTIONS 2048

volatile unsigned long sink;

typedef void (*level_fn)(int level);
static level_fn fns[SPREAD_FUNCTIONS];
static int nfns;
static int depth = 28;
static int variants = 1;
static int path[SPREAD_FUNCTIONS]; /* path[d]: the function for level d */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void leaf(void) {
  unsigned long x = sink | 1;
  for (int i = 0; i < 20000; ++i) x = x * 6364136223846793005UL + 1442695040888963407UL;
  sink = x;
}

/* Inlined into each generated function, so each call site (and return
 * address) belongs to that function. */
__attribute__((always_inline)) static inline void descend(int level) {
  if (level + 1 >= depth) {
    leaf();
  } else {
    fns[path[level + 1]](level + 1);
  }
  sink++;
}

/* Each function has a stack frame of its own size (n % 8 decides), so
 * their unwind rows differ: a row applied to the wrong function derails
 * the walk. */
#define SPREAD_FN__(n)                                      \
  __attribute__((noinline)) static void fn_##n(int level) { \
    volatile char frame[16 * ((n) % 8) + 8];                \
    frame[0] = (char)level;                                 \
    descend(level);                                         \
    sink += frame[0];                                       \
  }                                                         \
  __attribute__((constructor)) static void reg_##n(void) {  \
    if (nfns < SPREAD_FUNCTIONS) fns[nfns++] = fn_##n;      \
  }
#define SPREAD_FN_(n) SPREAD_FN__(n)
#define SPREAD_FN SPREAD_FN_(__COUNTER__)
#define SPREAD_X4 SPREAD_FN SPREAD_FN SPREAD_FN SPREAD_FN
#define SPREAD_X32 SPREAD_X4 SPREAD_X4 SPREAD_X4 SPREAD_X4 SPREAD_X4 SPREAD_X4 SPREAD_X4 SPREAD_X4
#define SPREAD_X256 \
  SPREAD_X32 SPREAD_X32 SPREAD_X32 SPREAD_X32 SPREAD_X32 SPREAD_X32 SPREAD_X32 SPREAD_X32
SPREAD_X256 SPREAD_X256 SPREAD_X256 SPREAD_X256 SPREAD_X256 SPREAD_X256 SPREAD_X256 SPREAD_X256

    int
    main(int argc, char** argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  depth = argc > 2 ? atoi(argv[2]) : 28;
  variants = argc > 3 ? atoi(argv[3]) : 1;
  if (depth < 1 || variants < 1 || (long)depth * variants > nfns) {
    fprintf(stderr, "spread: DEPTH x VARIANTS must be between 1 and %d\n", nfns);
    return 2;
  }
  unsigned long r = 88172645463325252UL;
  double end = now_s() + seconds;
  do {
    for (int d = 0; d < depth; ++d) {
      r ^= r << 13;
      r ^= r >> 7;
      r ^= r << 17;
      path[d] = d * variants + (int)(r % (unsigned long)variants);
    }
    fns[path[0]](0);
  } while (now_s() < end);
  return 0;
}
