// Functions of the .eh_frame test workload shared by its C and C++ halves.
#ifndef RINGPROF_TESTS_UNWIND_EH_WORKLOADS_FRAMES_H_
#define RINGPROF_TESTS_UNWIND_EH_WORKLOADS_FRAMES_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void eh_sink(volatile void* p);
long eh_vla_sum(int n);
long eh_alloca_fill(size_t n);
long eh_many_saved(long a, long b, long c, long d, long e, long f);
long eh_recurse(int depth, long acc);

#ifdef __cplusplus
}
#endif

#endif  // RINGPROF_TESTS_UNWIND_EH_WORKLOADS_FRAMES_H_
