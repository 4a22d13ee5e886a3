/* Record layouts shared by the BPF programs and the user-space collector.
 * Fixed-width types only; this header is compiled by clang -target bpf and
 * by the host C++ compiler. Every record in the BPF ring buffer starts with
 * struct rp_record_header, so the drain loop can dispatch on `type` and skip
 * record kinds it does not know (trace events and counter snapshots come
 * with later record types; the header leaves room for them).
 *
 * Times are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns), the clock the
 * perf side-band events are opened with (use_clockid), so both streams merge
 * by timestamp. */
#ifndef RINGPROF_COLLECTOR_BPF_SAMPLE_RECORD_H_
#define RINGPROF_COLLECTOR_BPF_SAMPLE_RECORD_H_

#ifdef __bpf__
typedef __u8 rp_u8;
typedef __u16 rp_u16;
typedef __u32 rp_u32;
typedef __u64 rp_u64;
#else
#include <stdint.h>
typedef uint8_t rp_u8;
typedef uint16_t rp_u16;
typedef uint32_t rp_u32;
typedef uint64_t rp_u64;
#endif

/* Depth limit for each of the kernel and the user stack. It matches the
 * kernel's default kernel.perf_event_max_stack. */
#define RP_MAX_STACK_DEPTH 127
/* Room for counter values read at each sample (group members). */
#define RP_MAX_COUNTERS 8

enum rp_record_type {
  RP_RECORD_SAMPLE = 1,
  /* Reserved for what comes next: RP_RECORD_TRACE = 2 (tracepoint/uprobe
   * event with a counter snapshot), RP_RECORD_AGG_WINDOW = 3 (always-on
   * in-kernel aggregation drained per window). */
};

/* rp_sample.flags */
#define RP_SAMPLE_IN_KERNEL (1u << 0)        /* the interrupted context was kernel mode */
#define RP_SAMPLE_KERNEL_TRUNCATED (1u << 1) /* kernel stack filled RP_MAX_STACK_DEPTH */
#define RP_SAMPLE_USER_TRUNCATED (1u << 2)   /* user stack filled RP_MAX_STACK_DEPTH */
#define RP_SAMPLE_USER_FAILED (1u << 3)      /* bpf_get_stack(user) returned an error */
#define RP_SAMPLE_KERNEL_FAILED (1u << 4)    /* bpf_get_stack(kernel) returned an error */

struct rp_record_header {
  rp_u32 type; /* enum rp_record_type */
  rp_u32 size; /* bytes of the whole record, header included */
};

/* One sample. `ips` holds n_kernel kernel IPs then n_user user IPs, each
 * leaf first; only that many entries are present in the ring record (the
 * record is cut after them). */
struct rp_sample {
  struct rp_record_header hdr;
  rp_u64 time_ns;
  rp_u64 period; /* the sampling event's period for this sample */
  rp_u32 pid;    /* tgid */
  rp_u32 tid;
  rp_u32 cpu;
  rp_u32 flags;
  rp_u16 n_kernel;
  rp_u16 n_user;
  rp_u16 n_counters; /* valid entries of the three counter arrays */
  rp_u16 event_index;
  /* Per counter, since this task's previous sample: the raw count, and the
   * time the counter was enabled and actually running (they differ when the
   * PMU multiplexes; user space scales by enabled/running). */
  rp_u64 counters[RP_MAX_COUNTERS];
  rp_u64 counter_enabled[RP_MAX_COUNTERS];
  rp_u64 counter_running[RP_MAX_COUNTERS];
  rp_u64 ips[2 * RP_MAX_STACK_DEPTH];
};

/* A reading of every counter (map values of "cpu_snap" and "task_acc"). */
struct rp_counter_reading {
  rp_u64 value[RP_MAX_COUNTERS];
  rp_u64 enabled[RP_MAX_COUNTERS];
  rp_u64 running[RP_MAX_COUNTERS];
  rp_u64 valid;
};

/* Per-CPU statistics kept by the sample program (map "stats"). */
struct rp_cpu_stats {
  rp_u64 samples;             /* program invocations */
  rp_u64 lost;                /* bpf_ringbuf_output failed: ring full */
  rp_u64 user_failed;         /* user stack unreadable */
  rp_u64 counter_read_failed; /* bpf_perf_event_read_value failed */
};

#endif
