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
typedef __s8 rp_s8;
typedef __s16 rp_s16;
typedef __s32 rp_s32;
typedef __s64 rp_s64;
#else
#include <stdint.h>
typedef uint8_t rp_u8;
typedef uint16_t rp_u16;
typedef uint32_t rp_u32;
typedef uint64_t rp_u64;
typedef int8_t rp_s8;
typedef int16_t rp_s16;
typedef int32_t rp_s32;
typedef int64_t rp_s64;
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
  RP_RECORD_USER_STACK = 4, /* struct rp_user_stack: the rest of a deferred walk */
};

/* rp_sample.flags */
#define RP_SAMPLE_IN_KERNEL (1u << 0)        /* the interrupted context was kernel mode */
#define RP_SAMPLE_KERNEL_TRUNCATED (1u << 1) /* kernel stack filled RP_MAX_STACK_DEPTH */
#define RP_SAMPLE_USER_TRUNCATED (1u << 2)   /* user stack filled RP_MAX_STACK_DEPTH */
#define RP_SAMPLE_USER_FAILED (1u << 3)      /* bpf_get_stack(user) returned an error */
#define RP_SAMPLE_KERNEL_FAILED (1u << 4)    /* bpf_get_stack(kernel) returned an error */
/* Not a sample: the user stack of a task entering execve (on_exec).
 * Samples taken in that execve after the new image has replaced the old
 * address space have only their leaf left; user space gives them this
 * stack, taken with the same user registers. No kernel stack and no
 * counters. */
#define RP_SAMPLE_EXEC_STACK (1u << 5)
/* on_exec's filter: the recorded roots (a command, the -p processes), and
 * how many ancestors of an exec'ing task are checked against them. */
#define RP_MAX_EXEC_ROOTS 1024
#define RP_EXEC_ANCESTORS 16

/* rp_sample.user_methods: how the user frames were recovered (table-based
 * unwinding; 0 when bpf_get_stack walked frame pointers). */
#define RP_UNWOUND_SFRAME (1u << 0)  /* a row of a table made from .sframe */
#define RP_UNWOUND_EHFRAME (1u << 1) /* a row of a table made from .eh_frame */
#define RP_UNWOUND_FP (1u << 2)      /* frame-pointer fallback (no table row) */

/* rp_sample.user_stop: why the table unwinder stopped. */
enum rp_unwind_stop {
  RP_STOP_NONE = 0,       /* not table-unwound */
  RP_STOP_END = 1,        /* outermost frame reached (RA undefined, or FP/RA 0) */
  RP_STOP_MISS = 2,       /* no table row and the frame-pointer guess failed */
  RP_STOP_READ_FAULT = 3, /* a table said where the RA is but it was unreadable */
  RP_STOP_DEPTH = 4,      /* RP_MAX_STACK_DEPTH frames: truncated */
  RP_STOP_BAD_FRAME = 5,  /* the stack pointer did not move up: a loop or bad rule */
  RP_STOP_DEFERRED = 6,   /* finished in user space: see rp_user_stack */
};

/* Unwind tables in BPF maps. Each binary's rows are a contiguous range of
 * the "unwind_rows" array, sorted by pc, in the slot of "unwind_bins" the
 * collector gave it; each process has a sorted list of its mappings that
 * have a table ("proc_maps", keyed by tgid). See collector/unwind_tables.h. */
#define RP_MAX_BINS 4096
#define RP_MAX_PROC_MAPS 128 /* power of two */

/* Row kinds (rp_unwind_row.kind & RP_ROW_KIND_MASK): the rules of
 * unwind/unwind_table.h. */
#define RP_ROW_NOINFO 0
#define RP_ROW_SP 1          /* CFA = SP + cfa_offset */
#define RP_ROW_FP 2          /* CFA = FP + cfa_offset */
#define RP_ROW_UNDEFINED 3   /* outermost frame */
#define RP_ROW_UNSUPPORTED 4 /* fall back to frame pointers */
#define RP_ROW_KIND_MASK 7
#define RP_ROW_FP_SAVED 8 /* FP = *(CFA + 8 * fp_offset8); RA is always *(CFA - 8) */
/* The CFA offset does not fit in cfa_offset (a frame of 32 KiB or more):
 * cfa_offset is the index of the offset among the binary's far offsets
 * (rp_unwind_bin.far_count). */
#define RP_ROW_FAR_CFA 64
#define RP_ROW_RULE_MASK (15 | RP_ROW_FAR_CFA) /* the bits of kind that make up the rule */
#define RP_ROW_WHOLE_PAGE 128                  /* page index entries only: see below */

struct rp_unwind_row {
  rp_u32 pc; /* ELF virtual address - the binary's pc_base */
  rp_s16 cfa_offset;
  rp_u8 kind;
  rp_s8 fp_offset8;
};

/* A page index follows each binary's rows in "unwind_rows": entry i (its
 * `pc` field) is the index, from row_start, of the row in force at
 * pc_base + (i << RP_UNWIND_PAGE_SHIFT), so a lookup searches only the
 * rows of one index page of code (256 bytes: a handful of rows, one or two
 * search steps) instead of the whole table. The entry's other fields are a
 * copy of that row's rule; when no other row starts within the page, its
 * kind has RP_ROW_WHOLE_PAGE and the entry alone answers the lookup, which
 * then touches one cache line (and one page of the array) instead of two
 * regions: samples find these lines, and their TLB entries, cold. The index
 * costs 8 bytes per 256 bytes of code, 3% of the text size. */
#define RP_UNWIND_PAGE_SHIFT 8
struct rp_unwind_bin {
  rp_u64 pc_base;    /* ELF virtual address of row pc 0 */
  rp_u32 row_start;  /* first row in "unwind_rows" */
  rp_u32 row_count;  /* 0: slot free or evicted */
  rp_u32 generation; /* bumped when the slot is reused */
  rp_u32 source;     /* RP_UNWOUND_SFRAME or RP_UNWOUND_EHFRAME */
  rp_u32 page_count; /* page index entries, at row_start + row_count */
  /* Far CFA offsets, after the page index (at row_start + row_count +
   * page_count): entry i's pc field is offset i, a signed 32-bit value. */
  rp_u32 far_count;
};

/* rp_map_entry.bin of an executable mapping that has no table and never
 * will (anonymous code, a file without unwind sections): frame pointers
 * there. A PC in no entry of its process's list (or in an entry whose table
 * is not resident) is code whose table is not published yet: the walk is
 * deferred to user space (RP_STOP_DEFERRED). */
#define RP_BIN_NONE 0xffffffffu

struct rp_map_entry {
  rp_u64 start; /* runtime address range [start, end) */
  rp_u64 end;
  rp_u64 bias; /* ELF virtual address = runtime address - bias */
  rp_u32 bin;  /* slot in "unwind_bins", or RP_BIN_NONE */
  rp_u32 generation;
};

struct rp_proc_maps {
  rp_u32 count; /* entries, sorted by start, not overlapping */
  rp_u32 stamp; /* unique to this write of this process's list; never 0 */
  struct rp_map_entry entries[RP_MAX_PROC_MAPS];
};

/* The row cache (per-CPU map "row_cache"): the rows the unwinder found
 * recently, by PC. Profiles sample the same hot stacks again and again, and
 * a hit replaces the mapping lookup, the page index and the row search with
 * one compare. An entry holds only for the process-map list it was found
 * through (`stamp`): every rewrite of a process's list (a new executable
 * mapping, an exec, a table it needs loaded) gets a new stamp, so code
 * mapped over an old address never meets an entry made for the old code.
 * Entries are copies of rules, so they stay right when their table is
 * evicted; a row read while its slot was being reused is not cached.
 * Direct-mapped: RP_ROW_CACHE_SIZE entries (a power of two), indexed by a
 * hash of the PC; 16 KiB per CPU. */
#define RP_ROW_CACHE_BITS 10
#define RP_ROW_CACHE_SIZE (1u << RP_ROW_CACHE_BITS)
#define RP_ROW_CACHE_SOURCE_SHIFT 4 /* the RP_UNWOUND_* bit, above RP_ROW_RULE_MASK */
struct rp_row_cache_entry {
  rp_u64 pc;    /* the PC looked up (runtime address) */
  rp_u32 stamp; /* rp_proc_maps.stamp it was found through; 0: empty */
  rp_s16 cfa_offset;
  rp_u8 kind; /* row kind and flags | source << RP_ROW_CACHE_SOURCE_SHIFT */
  rp_s8 fp_offset8;
};
struct rp_row_cache {
  struct rp_row_cache_entry e[RP_ROW_CACHE_SIZE];
};
#ifdef __cplusplus
#define RP_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define RP_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif
RP_STATIC_ASSERT(sizeof(struct rp_row_cache) <= 32768, "a per-CPU array value is at most 32 KiB");
RP_STATIC_ASSERT((RP_UNWOUND_EHFRAME << RP_ROW_CACHE_SOURCE_SHIFT) <= 255 &&
                     (RP_ROW_RULE_MASK & (3 << RP_ROW_CACHE_SOURCE_SHIFT)) == 0,
                 "the source bits fit in rp_row_cache_entry.kind beside the rule");

/* A copy of part of the user stack (per-CPU map "stack_window"): the
 * unwinder reads whole pages of stack at once, to the end of the page it
 * needs, instead of 8 bytes per frame, since each bpf_probe_read_user has a
 * fixed cost that dominates a frame's work. */
#define RP_STACK_WINDOW 512 /* power of two, at most a page */
struct rp_stack_window {
  rp_u64 start; /* user address of bytes[0] */
  rp_u64 len;   /* valid bytes; 0: empty */
  rp_u8 bytes[RP_STACK_WINDOW];
};

/* The table unwinder's registers and progress (per-CPU map "unwind_state"). */
struct rp_unwind_state {
  rp_u64 pc;
  rp_u64 sp;
  rp_u64 fp;
  rp_u32 n;  /* frames written */
  rp_u32 nk; /* kernel frames before them in rp_sample.data */
  rp_u32 methods;
  rp_u32 stop;
  rp_u32 tgid;
  rp_u32 last_map;    /* the mapping the previous frame was in */
  rp_u32 stamp;       /* rp_proc_maps.stamp of the process's list; 0: none */
  rp_u32 unpublished; /* deferred at code whose table is not published */
  rp_u64 woke_ns;     /* this CPU's latest wakeup for an unpublished table */
};

struct rp_record_header {
  rp_u32 type; /* enum rp_record_type */
  rp_u32 size; /* bytes of the whole record, header included */
};

/* A deferred walk (RP_STOP_DEFERRED): the table unwinder met code whose
 * table user space has not published yet (a process's first samples, a
 * library just mapped, a table evicted), or a rule its rows cannot express
 * (RP_ROW_UNSUPPORTED: a CFA expression, as in every PLT; a return address
 * kept in a register). Instead of guessing with frame pointers, it copies
 * the rest of the user stack, from the frame's SP, and
 * writes this record just before the sample it belongs to, from the same
 * CPU. User space finishes the walk from these registers with the ELF
 * files' .eh_frame (as --call-graph dwarf does) and appends the frames
 * after the sample's last one (whose PC is `pc`). The copy stops at the
 * first unreadable page or at RP_USER_STACK_BYTES. */
#define RP_USER_STACK_BYTES 16384
/* Registers by their perf index (PERF_REG_X86_AX = 0 ... PERF_REG_X86_R15 =
 * 23; DS, ES, FS and GS, 12-15, are not kept). */
#define RP_USER_STACK_REGS 24
struct rp_user_stack {
  struct rp_record_header hdr;
  rp_u64 time_ns; /* the sample's */
  rp_u32 tid;
  rp_u32 cpu;
  rp_u64 pc; /* the registers of the frame where the walk stopped */
  rp_u64 sp;
  rp_u64 fp;
  /* When the walk stopped at the leaf (frame 0): every user register, so
   * that rules that need more than SP and FP (__vfork's return address is
   * in RDI) can be followed; regs_valid 1. Otherwise 0, and only pc, sp
   * and fp are known. */
  rp_u64 regs[RP_USER_STACK_REGS];
  rp_u32 regs_valid;
  rp_u32 pad;
  rp_u32 len;   /* bytes copied from sp; the record ends after them */
  rp_u32 frame; /* the frame's index in the sample's user frames (0: leaf) */
  /* A page more than a copy's bytes: room the verifier can prove each
   * page-sized read into fits in. */
  rp_u8 bytes[RP_USER_STACK_BYTES + 4096];
};
RP_STATIC_ASSERT(sizeof(struct rp_user_stack) <= 32768, "a per-CPU array value is at most 32 KiB");

/* One sample. `data` holds n_kernel kernel IPs, then n_user user IPs (each
 * leaf first), then, when n_counters > 0, the counters: n_counters values,
 * n_counters enabled times, n_counters running times. Only that much is in
 * the ring record (the record is cut after it), so a sample without
 * counters carries no room for them. Counter values are each counter's
 * count since this task's previous sample; enabled and running are the
 * time the counter was enabled and actually counting in that interval
 * (they differ when the PMU multiplexes; user space scales by
 * enabled/running). */
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
  rp_u16 n_counters; /* counter triples after the IPs */
  rp_u16 event_index;
  rp_u8 user_methods; /* RP_UNWOUND_* bits */
  rp_u8 user_stop;    /* enum rp_unwind_stop */
  rp_u16 pad0;
  rp_u32 pad1;
  rp_u64 data[2 * RP_MAX_STACK_DEPTH + 3 * RP_MAX_COUNTERS];
};

/* Self-timing of the sample program (map "timing", per CPU): histograms
 * of the time from its clock read at entry to the end of its ring output,
 * in RP_TIMING_BUCKET_NS buckets, the last one "or more": keys 0 ..
 * RP_TIMING_BUCKETS-1 for samples that interrupted user mode, the next
 * RP_TIMING_BUCKETS for kernel mode (those also capture a kernel stack),
 * then the total ns of each kind's runs (user, kernel), for the means.
 * Only filled when the collector asks (a benchmark aid: it costs one more
 * clock read). The kernel's run-time statistics only give a mean, which one
 * preempted run of a virtual CPU can inflate by microseconds; this gives
 * the median. */
#define RP_TIMING_BUCKETS 1024
#define RP_TIMING_BUCKET_NS 20
#define RP_TIMING_KEYS (2 * RP_TIMING_BUCKETS + 2)

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
  rp_u64 unwind_table_frames; /* user frames recovered with a table row */
  rp_u64 unwind_fp_frames;    /* user frames recovered by frame-pointer fallback */
  rp_u64 row_cache_hits;      /* table frames whose row came from the row cache */
  rp_u64 deferred;            /* walks deferred to user space (RP_STOP_DEFERRED) */
  rp_u64 deferred_lost;       /* ... whose stack copy did not fit in the ring */
};

#endif
