// SPDX-License-Identifier: GPL-2.0
/* The sample program: runs on every overflow of the sampling perf event
 * (attached per CPU or per task), captures the kernel stack and the user
 * stack (walked with frame pointers by the kernel's bpf_get_stack), and
 * appends a struct rp_sample to the ring buffer.
 *
 * Wakeups are batched: the reader is only woken when at least
 * `wakeup_bytes` are waiting; otherwise it drains on its own timer. Waking
 * the reader on every sample throttles the sampler (see DESIGN.md). */
// clang-format off
#include "bpf_types.h"  // must come first: the libbpf headers need its types
#include <bpf/bpf_helpers.h>
// clang-format on

#include "sample_record.h"

char LICENSE[] SEC("license") = "GPL";

/* Set before load. */
const volatile rp_u64 wakeup_bytes = 256 * 1024;
const volatile rp_u32 event_index = 0;
/* Counters read at each sample: the perf events are in "counters" at
 * index counter * n_cpus + cpu (opened per CPU by user space). */
const volatile rp_u32 n_counters = 0;
const volatile rp_u32 n_cpus = 1;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 8 * 1024 * 1024); /* resized before load */
} samples SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, rp_u32);
  __type(value, struct rp_sample);
} scratch SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, rp_u32);
  __type(value, struct rp_cpu_stats);
} stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(rp_u32));
  __uint(value_size, sizeof(rp_u32));
  __uint(max_entries, 1); /* resized to n_counters * n_cpus before load */
} counters SEC(".maps");

/* The counters' values when this CPU last switched tasks or sampled. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2); /* 0: the snapshot, 1: scratch for a new reading */
  __type(key, rp_u32);
  __type(value, struct rp_counter_reading);
} cpu_snap SEC(".maps");

/* Per task: counts accumulated while it ran, since its last sample. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 32768);
  __type(key, rp_u32);
  __type(value, struct rp_counter_reading);
} task_acc SEC(".maps");

#define STACK_BYTES (RP_MAX_STACK_DEPTH * sizeof(rp_u64))
#define HEADER_BYTES (sizeof(struct rp_sample) - sizeof(((struct rp_sample*)0)->ips))

/* Reads every counter on this CPU into `out`. Returns false if any read
 * failed. */
static __always_inline int read_counters(struct rp_counter_reading* out, rp_u32 cpu) {
  int ok = 1;
#pragma unroll
  for (rp_u32 i = 0; i < RP_MAX_COUNTERS; i++) {
    if (i >= n_counters) break;
    struct bpf_perf_event_value v = {};
    if (bpf_perf_event_read_value(&counters, i * n_cpus + cpu, &v, sizeof(v)) != 0) ok = 0;
    out->value[i] = v.counter;
    out->enabled[i] = v.enabled;
    out->running[i] = v.running;
  }
  out->valid = 1;
  return ok;
}

/* acc += now - snap, counter by counter. */
static __always_inline void accumulate(struct rp_counter_reading* acc,
                                       const struct rp_counter_reading* now,
                                       const struct rp_counter_reading* snap) {
#pragma unroll
  for (rp_u32 i = 0; i < RP_MAX_COUNTERS; i++) {
    if (i >= n_counters) break;
    acc->value[i] += now->value[i] - snap->value[i];
    acc->enabled[i] += now->enabled[i] - snap->enabled[i];
    acc->running[i] += now->running[i] - snap->running[i];
  }
}

/* At every context switch the outgoing task (still `current` here) is
 * charged what the counters advanced while it ran, so a sample can be
 * charged its own task's counts even though the counters are per CPU. */
SEC("raw_tp/sched_switch")
int on_switch(void* ctx) {
  if (n_counters == 0) return 0;
  rp_u32 zero = 0;
  rp_u32 one = 1;
  struct rp_counter_reading* snap = bpf_map_lookup_elem(&cpu_snap, &zero);
  struct rp_counter_reading* now = bpf_map_lookup_elem(&cpu_snap, &one);
  if (!snap || !now) return 0;
  if (!read_counters(now, bpf_get_smp_processor_id())) return 0;
  rp_u32 tid = (rp_u32)bpf_get_current_pid_tgid();
  if (tid != 0 && snap->valid) {
    struct rp_counter_reading* acc = bpf_map_lookup_elem(&task_acc, &tid);
    if (!acc) {
      struct rp_counter_reading empty = {};
      bpf_map_update_elem(&task_acc, &tid, &empty, BPF_NOEXIST);
      acc = bpf_map_lookup_elem(&task_acc, &tid);
    }
    if (acc) accumulate(acc, now, snap);
  }
  __builtin_memcpy(snap, now, sizeof(*snap));
  return 0;
}

/* Fills the sample's counter deltas: what its task accumulated at earlier
 * switches plus what the counters advanced since this CPU's snapshot. */
static __always_inline void sample_counters(struct rp_sample* s, struct rp_cpu_stats* st) {
  rp_u32 zero = 0;
  rp_u32 one = 1;
  struct rp_counter_reading* snap = bpf_map_lookup_elem(&cpu_snap, &zero);
  struct rp_counter_reading* now = bpf_map_lookup_elem(&cpu_snap, &one);
  if (!snap || !now) return;
  if (!read_counters(now, s->cpu)) st->counter_read_failed++;
  struct rp_counter_reading* acc = bpf_map_lookup_elem(&task_acc, &s->tid);
#pragma unroll
  for (rp_u32 i = 0; i < RP_MAX_COUNTERS; i++) {
    if (i >= n_counters) break;
    rp_u64 v = 0, e = 0, r = 0;
    if (snap->valid) {
      v = now->value[i] - snap->value[i];
      e = now->enabled[i] - snap->enabled[i];
      r = now->running[i] - snap->running[i];
    }
    if (acc) {
      v += acc->value[i];
      e += acc->enabled[i];
      r += acc->running[i];
      acc->value[i] = 0;
      acc->enabled[i] = 0;
      acc->running[i] = 0;
    }
    s->counters[i] = v;
    s->counter_enabled[i] = e;
    s->counter_running[i] = r;
  }
  s->n_counters = n_counters;
  __builtin_memcpy(snap, now, sizeof(*snap));
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data* ctx) {
  rp_u32 zero = 0;
  struct rp_sample* s = bpf_map_lookup_elem(&scratch, &zero);
  struct rp_cpu_stats* st = bpf_map_lookup_elem(&stats, &zero);
  if (!s || !st) return 0;
  st->samples++;

  rp_u64 pid_tgid = bpf_get_current_pid_tgid();
  s->hdr.type = RP_RECORD_SAMPLE;
  s->time_ns = bpf_ktime_get_ns();
  s->period = ctx->sample_period;
  s->pid = pid_tgid >> 32;
  s->tid = (rp_u32)pid_tgid;
  s->cpu = bpf_get_smp_processor_id();
  s->flags = 0;
  s->n_counters = 0;
  s->event_index = event_index;
  if (n_counters > 0) sample_counters(s, st);
  /* x86-64: the low two bits of CS are the privilege level of the
   * interrupted context. */
  if ((ctx->regs.cs & 3) == 0) s->flags |= RP_SAMPLE_IN_KERNEL;

  rp_u32 nk = 0;
  if (s->flags & RP_SAMPLE_IN_KERNEL) {
    long r = bpf_get_stack(ctx, s->ips, STACK_BYTES, 0);
    if (r < 0)
      s->flags |= RP_SAMPLE_KERNEL_FAILED;
    else
      nk = (rp_u64)r >> 3;
    if (nk >= RP_MAX_STACK_DEPTH) {
      nk = RP_MAX_STACK_DEPTH;
      s->flags |= RP_SAMPLE_KERNEL_TRUNCATED;
    }
  }

  rp_u32 nu = 0;
  if (s->pid != 0) {
    /* The kernel walks user frame pointers, from the task's saved user
     * registers when the sample hit kernel mode. */
    long r = bpf_get_stack(ctx, &s->ips[nk], STACK_BYTES, BPF_F_USER_STACK);
    if (r < 0) {
      s->flags |= RP_SAMPLE_USER_FAILED;
      st->user_failed++;
    } else {
      nu = (rp_u64)r >> 3;
    }
    if (nu >= RP_MAX_STACK_DEPTH) {
      nu = RP_MAX_STACK_DEPTH;
      s->flags |= RP_SAMPLE_USER_TRUNCATED;
    }
  }
  s->n_kernel = nk;
  s->n_user = nu;

  rp_u64 size = HEADER_BYTES + (rp_u64)(nk + nu) * sizeof(rp_u64);
  if (size > sizeof(*s)) size = sizeof(*s);
  s->hdr.size = size;

  rp_u64 flags = BPF_RB_NO_WAKEUP;
  if (bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) >= wakeup_bytes) flags = BPF_RB_FORCE_WAKEUP;
  if (bpf_ringbuf_output(&samples, s, size, flags) != 0) st->lost++;
  return 0;
}
