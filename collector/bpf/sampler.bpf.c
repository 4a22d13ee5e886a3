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

#define STACK_BYTES (RP_MAX_STACK_DEPTH * sizeof(rp_u64))
#define HEADER_BYTES (sizeof(struct rp_sample) - sizeof(((struct rp_sample*)0)->ips))

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
