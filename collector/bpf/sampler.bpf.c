// SPDX-License-Identifier: GPL-2.0
/* The sample program: runs on every overflow of the sampling perf event
 * (attached per CPU or per task), captures the kernel stack and the user
 * stack, and appends a struct rp_sample to the ring buffer.
 *
 * User stacks are walked either by the kernel with frame pointers
 * (bpf_get_stack, --call-graph fp) or by the table unwinder below, which
 * reads the unwind rows user space loaded from .sframe / .eh_frame and falls
 * back to frame pointers for PCs without a row.
 *
 * Wakeups are batched: the reader is only woken when at least
 * `wakeup_bytes` are waiting, or (rate-limited) when a walk met code whose
 * table it has not published; otherwise it drains on its own timer. Waking
 * the reader on every sample throttles the sampler (see DESIGN.md). */
// clang-format off
#include "bpf_types.h"  // must come first: the libbpf headers need its types
#include <bpf/bpf_helpers.h>
// clang-format on

#include <bpf/bpf_core_read.h>

#include "sample_record.h"

char LICENSE[] SEC("license") = "GPL";

/* Set before load. */
const volatile rp_u64 wakeup_bytes = 256 * 1024;
/* Counters read at each sample: the perf events are in "counters" at
 * index counter * n_cpus + cpu (opened per CPU by user space). */
const volatile rp_u32 n_counters = 0;
const volatile rp_u32 n_cpus = 1;
/* 1: unwind user stacks with the tables in unwind_rows. */
const volatile rp_u32 use_tables = 0;
/* 1: fill the "timing" histogram. */
const volatile rp_u32 self_timing = 0;
/* 1: exec stacks (on_exec) only for tasks with an ancestor (or self) in
 * exec_roots: a command, -p; 0: every task (-a). */
const volatile rp_u32 exec_filter = 0;
/* A deferred walk at code whose table is not published wakes the reader,
 * at most this often per CPU (see output_user_stack). */
#define RP_UNPUBLISHED_WAKEUP_NS (5 * 1000 * 1000)

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
  /* 0: the snapshot, 1: scratch for a new reading, 2: the sample's deltas */
  __uint(max_entries, 3);
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

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, RP_TIMING_KEYS);
  __type(key, rp_u32);
  __type(value, rp_u64);
} timing SEC(".maps");

/* Unwind tables (layouts in sample_record.h). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, 1); /* sized from --unwind-mem before load */
  __type(key, rp_u32);
  __type(value, struct rp_unwind_row);
} unwind_rows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, RP_MAX_BINS);
  __type(key, rp_u32);
  __type(value, struct rp_unwind_bin);
} unwind_bins SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 16384);
  __type(key, rp_u32);
  __type(value, struct rp_proc_maps);
} proc_maps SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, rp_u32);
  __type(value, struct rp_unwind_state);
} unwind_state SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, rp_u32);
  __type(value, struct rp_stack_window);
} stack_window SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, rp_u32);
  __type(value, struct rp_row_cache);
} row_cache SEC(".maps");

/* The stack copy of a deferred walk, built here before it goes to the ring. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, rp_u32);
  __type(value, struct rp_user_stack);
} user_stack SEC(".maps");

#define STACK_BYTES (RP_MAX_STACK_DEPTH * sizeof(rp_u64))
#define HEADER_BYTES (sizeof(struct rp_sample) - sizeof(((struct rp_sample*)0)->data))
#define DATA_WORDS (sizeof(((struct rp_sample*)0)->data) / sizeof(rp_u64))

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

/* Computes the sample's counter deltas into `out` (cpu_snap[2]): what its
 * task accumulated at earlier switches plus what the counters advanced
 * since this CPU's snapshot. They go into the record after the stacks. */
static __always_inline void sample_counters(struct rp_sample* s, struct rp_cpu_stats* st) {
  rp_u32 zero = 0;
  rp_u32 one = 1;
  rp_u32 two = 2;
  struct rp_counter_reading* snap = bpf_map_lookup_elem(&cpu_snap, &zero);
  struct rp_counter_reading* now = bpf_map_lookup_elem(&cpu_snap, &one);
  struct rp_counter_reading* out = bpf_map_lookup_elem(&cpu_snap, &two);
  if (!snap || !now || !out) return;
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
    out->value[i] = v;
    out->enabled[i] = e;
    out->running[i] = r;
  }
  s->n_counters = n_counters;
  __builtin_memcpy(snap, now, sizeof(*snap));
}

/* What one unwinding step works on; passed to the bpf_loop callback on the
 * stack (the state itself lives in per-CPU maps: the BPF stack is small). */
struct unwind_ctx {
  struct rp_sample* s;
  struct rp_unwind_state* st;
  struct rp_stack_window* win;
  struct rp_proc_maps* pm; /* NULL: the process has no table-backed mapping */
  struct rp_row_cache* cache;
  struct rp_cpu_stats* stats;
};

/* What unwind_step needs of a row: a copy, from the row cache or the table. */
struct found_row {
  rp_s32 cfa_offset;
  rp_u8 kind; /* RP_ROW_* kind and flags; RP_ROW_NOINFO: none */
  rp_s8 fp_offset8;
  rp_u8 cached;  /* 1: from the row cache */
  rp_u32 source; /* RP_UNWOUND_* */
};

/* A row's rule goes between the table, the row cache and struct found_row
 * only through the three functions below (find_row reads a row's pc, and a
 * page index entry's row index and RP_ROW_WHOLE_PAGE flag, for its search):
 * a change of the row layout (struct rp_unwind_row, struct
 * rp_row_cache_entry) changes them and struct found_row alone. */

/* out = the rule of table row (or page index entry) r, from a table made
 * from `source` (RP_UNWOUND_*). */
static __always_inline void rule_from_row(struct found_row* out, const struct rp_unwind_row* r,
                                          rp_u32 source) {
  out->cfa_offset = r->cfa_offset;
  out->kind = r->kind & RP_ROW_RULE_MASK;
  out->fp_offset8 = r->fp_offset8;
  out->source = source;
  out->cached = 0;
}

/* Returns 1, with out = the cached rule, if ce holds the rule for pc found
 * through the mapping list with this stamp; else 0. */
static __always_inline int rule_from_cache(struct found_row* out,
                                           const struct rp_row_cache_entry* ce, rp_u64 pc,
                                           rp_u32 stamp) {
  if (ce->pc != pc || ce->stamp != stamp) return 0;
  out->cfa_offset = ce->cfa_offset;
  out->kind = ce->kind & RP_ROW_RULE_MASK;
  out->fp_offset8 = ce->fp_offset8;
  out->source = ce->kind >> RP_ROW_CACHE_SOURCE_SHIFT;
  out->cached = 1;
  return 1;
}

/* ce = the rule r for pc, found through the mapping list with this stamp. */
static __always_inline void rule_to_cache(struct rp_row_cache_entry* ce, const struct found_row* r,
                                          rp_u64 pc, rp_u32 stamp) {
  ce->pc = pc;
  ce->stamp = stamp;
  ce->cfa_offset = r->cfa_offset;
  ce->kind = r->kind | (rp_u8)(r->source << RP_ROW_CACHE_SOURCE_SHIFT);
  ce->fp_offset8 = r->fp_offset8;
}

/* The row in force at `pc` (a runtime address), or NULL (no mapping with a
 * table, evicted table, or a PC before the first row). *unpublished is set
 * to 1 when the PC's code may get a table user space has not published
 * yet (it lies in no entry of the list, or in one whose table is not
 * resident), and left alone otherwise. *source gets the
 * table's RP_UNWOUND_* bit, *bin_out the table's slot and *generation_out
 * the generation it had when it was checked. The result may be a page index entry (kind has
 * RP_ROW_WHOLE_PAGE, pc is not a PC): use only its rule. */
static __always_inline struct rp_unwind_row* find_row(struct rp_proc_maps* pm,
                                                      struct rp_unwind_state* st, rp_u64 pc,
                                                      rp_u32* source,
                                                      struct rp_unwind_bin** bin_out,
                                                      rp_u32* generation_out, int* unpublished) {
  rp_u32 n = pm->count;
  if (n == 0 || n > RP_MAX_PROC_MAPS) {
    *unpublished = 1;
    return 0;
  }
  /* Consecutive frames are mostly in one binary: try the last mapping
   * first, then search for the last mapping with start <= pc. */
  rp_u32 lo = st->last_map & (RP_MAX_PROC_MAPS - 1);
  struct rp_map_entry* e = &pm->entries[lo];
  if (lo >= n || pc < e->start || pc >= e->end) {
    lo = 0;
    for (int i = 0; i < 8; i++) {
      if (n <= 1) break;
      rp_u32 half = n / 2;
      rp_u32 mid = (lo + half) & (RP_MAX_PROC_MAPS - 1);
      if (pm->entries[mid].start <= pc) lo = mid;
      n -= half;
    }
    lo &= RP_MAX_PROC_MAPS - 1;
    e = &pm->entries[lo];
    if (pc < e->start || pc >= e->end) {
      *unpublished = 1;
      return 0;
    }
    st->last_map = lo;
  }
  rp_u32 slot = e->bin;
  if (slot == RP_BIN_NONE) return 0; /* no table, and none coming */
  struct rp_unwind_bin* bin = bpf_map_lookup_elem(&unwind_bins, &slot);
  if (!bin || bin->row_count == 0 || bin->generation != e->generation) {
    *unpublished = 1; /* evicted, or being replaced */
    return 0;
  }
  *bin_out = bin;
  *generation_out = e->generation;
  rp_u64 vaddr = pc - e->bias;
  if (vaddr < bin->pc_base || vaddr - bin->pc_base > 0xffffffffull) return 0;
  rp_u32 off = (rp_u32)(vaddr - bin->pc_base);
  /* The page index bounds the search to the rows in force within off's
   * page: from the row in force at its start to the one at the next. */
  rp_u32 page = off >> RP_UNWIND_PAGE_SHIFT;
  if (page >= bin->page_count) return 0;
  rp_u32 at = bin->row_start + bin->row_count + page;
  struct rp_unwind_row* p = bpf_map_lookup_elem(&unwind_rows, &at);
  if (!p) return 0;
  *source = bin->source;
  if (p->kind & RP_ROW_WHOLE_PAGE) return p; /* one rule for the whole page */
  rp_u32 lo_row = p->pc;
  rp_u32 hi_row = bin->row_count - 1;
  if (page + 1 < bin->page_count) {
    at++;
    p = bpf_map_lookup_elem(&unwind_rows, &at);
    if (!p) return 0;
    hi_row = p->pc;
  }
  if (lo_row > hi_row || hi_row >= bin->row_count) return 0;
  /* Last row with row.pc <= off in [lo_row, hi_row]. */
  rp_u32 first = bin->row_start + lo_row;
  rp_u32 count = hi_row - lo_row + 1;
  for (int i = 0; i < 26; i++) {
    if (count <= 1) break;
    rp_u32 half = count / 2;
    rp_u32 mid = first + half;
    struct rp_unwind_row* r = bpf_map_lookup_elem(&unwind_rows, &mid);
    if (!r) return 0;
    if (r->pc <= off) first = mid;
    count -= half;
  }
  struct rp_unwind_row* r = bpf_map_lookup_elem(&unwind_rows, &first);
  if (!r || r->pc > off) return 0;
  return r;
}

/* The row cache missed: out = the rule in force at pc from the tables
 * (out->kind RP_ROW_NOINFO when there is none), kept in the cache entry ce
 * (may be NULL) when it was read whole. Misses are not cached: they fall
 * back to frame pointers, and the table may yet be loaded. Returns 1 when
 * there is no rule because the PC's table is not published (find_row's
 * *unpublished), else 0.
 *
 * A global (BTF-checked) function, not inlined: the kernel verifies it
 * once, on its own, with its arguments checked at the call, instead of
 * along every path of unwind_step that reaches it. Inlined, its two bounded
 * searches and their many exits multiplied the states that the rest of the
 * step (the stack-window refills above all) was verified in: 170,711
 * processed instructions and most of a second of system CPU at every
 * load (docs/PERFORMANCE.md). Being global, it reads no state the caller
 * knows: its pointer arguments may be NULL as far as the verifier knows,
 * and *out comes back as unknown values. A cache hit makes no call. */
__noinline int find_rule(struct rp_proc_maps* pm, struct rp_unwind_state* st,
                         struct rp_row_cache_entry* ce, rp_u64 pc, struct found_row* out) {
  if (!out) return 0;
  out->kind = RP_ROW_NOINFO;
  out->cached = 0;
  if (!pm || !st) return 1;
  rp_u32 source = 0;
  struct rp_unwind_bin* bin = 0;
  rp_u32 generation = 0;
  int unpublished = 0;
  struct rp_unwind_row* row = find_row(pm, st, pc, &source, &bin, &generation, &unpublished);
  if (!row || !bin) return unpublished;
  rule_from_row(out, row, source);
  if (out->kind & RP_ROW_FAR_CFA) {
    /* A frame of 32 KiB or more: the offset is in the far list. Rare, so
     * not cached (a cache entry's offset is 16 bits). */
    rp_u32 idx = (rp_u16)row->cfa_offset;
    rp_u32 at = bin->row_start + bin->row_count + bin->page_count + idx;
    struct rp_unwind_row* far = idx < bin->far_count ? bpf_map_lookup_elem(&unwind_rows, &at) : 0;
    if (!far) {
      out->kind = RP_ROW_NOINFO;
      return 0;
    }
    out->cfa_offset = (rp_s32)far->pc;
    return 0;
  }
  /* The collector clears a slot (row_count 0) before it reuses its rows and
   * gives it a new generation after: if either changed while the row was
   * read, the row may be half rewritten. Use it for this frame, as before
   * the cache, but do not keep it. The barrier keeps the compiler from
   * moving the row's reads after the check (x86 keeps loads in order). */
  asm volatile("" ::: "memory");
  if (!ce || *(volatile rp_u32*)&bin->row_count == 0 ||
      *(volatile rp_u32*)&bin->generation != generation) {
    return 0;
  }
  rule_to_cache(ce, out, pc, st->stamp);
  return 0;
}

/* The row in force at pc, through the row cache; out->kind is RP_ROW_NOINFO
 * when there is none. A hit, the common case, costs no call. Returns 1 when
 * the PC's table is not published yet (no list for the process, the PC in
 * none of its entries, or the table not resident). */
static __always_inline int lookup_row(struct unwind_ctx* c, rp_u64 pc, struct found_row* out) {
  out->kind = RP_ROW_NOINFO;
  out->cached = 0;
  if (!c->pm) return 1;
  /* Fibonacci hashing: the top bits of pc times 2^64 / phi. */
  rp_u32 h = (rp_u32)((pc * 0x9e3779b97f4a7c15ull) >> (64 - RP_ROW_CACHE_BITS));
  struct rp_row_cache_entry* ce = c->cache ? &c->cache->e[h & (RP_ROW_CACHE_SIZE - 1)] : 0;
  if (ce && rule_from_cache(out, ce, pc, c->st->stamp)) return 0;
  return find_rule(c->pm, c->st, ce, pc, out) == 1;
}

/* Refills the stack window so that it holds the user word at addr. It
 * copies RP_STACK_WINDOW bytes from a little below addr (a saved FP sits
 * just under the return address) but never past either end of addr's page:
 * a page that holds addr is mapped, so the copy cannot fault where a
 * word-sized read would not. Returns 0 on success. */
static __always_inline int fill_window(struct rp_stack_window* w, rp_u64 addr) {
  rp_u64 below = addr & 4095;
  if (below > 64) below = 64;
  rp_u64 start = addr - below;
  rp_u64 len = 4096 - (start & 4095);
  if (len > RP_STACK_WINDOW) len = RP_STACK_WINDOW;
  if (len < below + 8) { /* a word across two pages: read just it */
    start = addr;
    len = 8;
  }
  w->len = 0;
  if (bpf_probe_read_user(w->bytes, len, (void*)start) != 0) return -1;
  w->start = start;
  w->len = len;
  return 0;
}

/* fill_window as a global function, for the same reason as find_rule: the
 * helper's size comes out of three clamps, and the verifier follows each
 * combination of them, in every state that reaches an inlined copy. */
__noinline int refill_window(struct rp_stack_window* w, rp_u64 addr) {
  if (!w) return -1;
  return fill_window(w, addr);
}

/* Reads the user word at addr through the stack window. Returns 0 on
 * success. With inline_refill a refill is inlined, else it is a call of
 * refill_window. A BPF-to-BPF call costs 8-13 ns here (bench_bpf_floor),
 * so a frame's first read (its return address under a table rule, its
 * saved FP under the frame-pointer rule), where nearly every refill
 * happens, refills inline; the frame's other word lies next to it, in the
 * window that read filled, so the second reads rarely refill: they make
 * the call and spare the verifier two more copies of the refill. */
static __always_inline int read_user_word(struct rp_stack_window* w, rp_u64 addr, rp_u64* out,
                                          int inline_refill) {
  rp_u64 off = addr - w->start;
  if (addr < w->start || off + 8 > w->len) {
    if ((inline_refill ? fill_window(w, addr) : refill_window(w, addr)) != 0) return -1;
    off = addr - w->start;
  }
  if (off > RP_STACK_WINDOW - 8) return -1;
  *out = *(rp_u64*)(w->bytes + off);
  return 0;
}

/* One frame: records st->pc, then computes the caller's registers.
 * Returns 1 to stop the loop. */
static long unwind_step(rp_u64 index, void* arg) {
  struct unwind_ctx* c = arg;
  struct rp_unwind_state* st = c->st;
  struct rp_sample* s = c->s;
  rp_u32 slot = st->nk + st->n;
  if (slot >= 2 * RP_MAX_STACK_DEPTH) {
    st->stop = RP_STOP_DEPTH;
    return 1;
  }
  s->data[slot] = st->pc;
  st->n++;
  if (st->n >= RP_MAX_STACK_DEPTH) {
    st->stop = RP_STOP_DEPTH;
    return 1;
  }

  /* A return address points after the call: look up the call itself. */
  rp_u64 lookup_pc = st->n == 1 ? st->pc : st->pc - 1;
  struct found_row row;
  if (lookup_row(c, lookup_pc, &row)) {
    /* No table for this code yet: a frame-pointer guess through code built
     * without them lands on plausible but wrong return addresses. The
     * stack is copied instead, and user space finishes the walk. */
    st->stop = RP_STOP_DEFERRED;
    st->unpublished = 1;
    return 1;
  }
  rp_u32 kind = row.kind & RP_ROW_KIND_MASK;
  rp_u64 ra = 0;
  if (kind == RP_ROW_UNSUPPORTED) {
    /* A rule the rows cannot express: user space follows it. */
    st->stop = RP_STOP_DEFERRED;
    return 1;
  }
  if (kind == RP_ROW_UNDEFINED) {
    st->stop = RP_STOP_END;
    return 1;
  }
  if (kind == RP_ROW_SP || kind == RP_ROW_FP) {
    rp_u64 cfa = (kind == RP_ROW_SP ? st->sp : st->fp) + (rp_s64)row.cfa_offset;
    if (read_user_word(c->win, cfa - 8, &ra, /*inline_refill=*/1) != 0) {
      st->stop = RP_STOP_READ_FAULT;
      return 1;
    }
    if (row.kind & RP_ROW_FP_SAVED) {
      rp_u64 fp = 0;
      if (read_user_word(c->win, cfa + 8 * (rp_s64)row.fp_offset8, &fp, /*inline_refill=*/0) != 0) {
        st->stop = RP_STOP_READ_FAULT;
        return 1;
      }
      st->fp = fp;
    }
    if (cfa <= st->sp) {
      st->stop = RP_STOP_BAD_FRAME;
      return 1;
    }
    st->sp = cfa;
    st->methods |= row.source;
    c->stats->unwind_table_frames++;
    c->stats->row_cache_hits += row.cached;
  } else {
    /* No usable row: the frame-pointer rule, CFA = FP + 16. */
    rp_u64 frame[2] = {0, 0};
    if (st->fp == 0) {
      st->stop = RP_STOP_END;
      return 1;
    }
    if (st->fp < st->sp || read_user_word(c->win, st->fp, &frame[0], /*inline_refill=*/1) != 0 ||
        read_user_word(c->win, st->fp + 8, &frame[1], /*inline_refill=*/0) != 0) {
      st->stop = RP_STOP_MISS;
      return 1;
    }
    if (frame[0] != 0 && frame[0] <= st->fp) {
      st->stop = RP_STOP_MISS;
      return 1;
    }
    st->sp = st->fp + 16;
    st->fp = frame[0];
    ra = frame[1];
    st->methods |= RP_UNWOUND_FP;
    c->stats->unwind_fp_frames++;
  }
  if (ra == 0) {
    st->stop = RP_STOP_END;
    return 1;
  }
  st->pc = ra;
  return 0;
}

/* A deferred walk: copies the user stack from st->sp, a page at a time (a
 * read must not cross into a page that may be unmapped: the stack's top
 * page is the last one mapped), and writes the rp_user_stack record to the
 * ring, before the sample it belongs to. */
static __always_inline void output_user_stack(struct rp_user_stack* us, struct rp_unwind_state* st,
                                              struct rp_sample* s, struct rp_cpu_stats* stats) {
  stats->deferred++;
  us->hdr.type = RP_RECORD_USER_STACK;
  us->time_ns = s->time_ns;
  us->tid = s->tid;
  us->cpu = s->cpu;
  us->pc = st->pc;
  us->sp = st->sp;
  us->fp = st->fp;
  us->frame = st->n > 0 ? st->n - 1 : 0;
  rp_u64 addr = st->sp;
  /* 64-bit: 32-bit values get zero-extended into copies of registers,
   * which loses the verifier's link between a bound check and the value
   * passed on. */
  rp_u64 len = 0;
  for (int i = 0; i < RP_USER_STACK_BYTES / 4096 + 1; i++) {
    if (len >= RP_USER_STACK_BYTES) break;
    rp_u64 chunk = 4096 - (addr & 4095);
    if (chunk > RP_USER_STACK_BYTES - len) chunk = RP_USER_STACK_BYTES - len;
    /* The empty asm statements hide what the compiler knows of chunk and
     * len, so that it keeps the two bounds below as they are written: the
     * verifier proves the read fits from exactly these. */
    asm volatile("" : "+r"(chunk));
    if (chunk > 4096 || chunk == 0) break;
    rp_u64 off = len;
    asm volatile("" : "+r"(off));
    off &= RP_USER_STACK_BYTES - 1;
    if (bpf_probe_read_user(&us->bytes[off], chunk, (void*)addr) != 0) break;
    len += chunk;
    addr += chunk;
  }
  us->len = (rp_u32)len;
  rp_u64 size = sizeof(*us) - sizeof(us->bytes) + len;
  if (size > sizeof(*us)) size = sizeof(*us);
  us->hdr.size = size;
  rp_u64 flags = BPF_RB_NO_WAKEUP;
  if (bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) >= wakeup_bytes) flags = BPF_RB_FORCE_WAKEUP;
  /* The walk met code whose table is not published (a new process or
   * mapping): user space publishes it at its next drain, so it is woken
   * now, at most once per RP_UNPUBLISHED_WAKEUP_NS on this CPU. The
   * side-band rings do not wake it at each record instead: every such
   * wakeup costs the kernel a self-IPI, at every mmap and exec. */
  if (st->unpublished && us->time_ns - st->woke_ns >= RP_UNPUBLISHED_WAKEUP_NS) {
    flags = BPF_RB_FORCE_WAKEUP;
    st->woke_ns = us->time_ns;
  }
  if (bpf_ringbuf_output(&samples, us, size, flags) != 0) stats->deferred_lost++;
}

/* us->regs from a struct pt_regs (an lvalue: the context's registers are
 * read field by field, as the verifier requires of a context). */
#define RP_COPY_REGS(us, r)     \
  do {                          \
    (us)->regs[0] = (r).rax;    \
    (us)->regs[1] = (r).rbx;    \
    (us)->regs[2] = (r).rcx;    \
    (us)->regs[3] = (r).rdx;    \
    (us)->regs[4] = (r).rsi;    \
    (us)->regs[5] = (r).rdi;    \
    (us)->regs[6] = (r).rbp;    \
    (us)->regs[7] = (r).rsp;    \
    (us)->regs[8] = (r).rip;    \
    (us)->regs[9] = (r).eflags; \
    (us)->regs[10] = (r).cs;    \
    (us)->regs[11] = (r).ss;    \
    (us)->regs[16] = (r).r8;    \
    (us)->regs[17] = (r).r9;    \
    (us)->regs[18] = (r).r10;   \
    (us)->regs[19] = (r).r11;   \
    (us)->regs[20] = (r).r12;   \
    (us)->regs[21] = (r).r13;   \
    (us)->regs[22] = (r).r14;   \
    (us)->regs[23] = (r).r15;   \
  } while (0)

/* The user PC, SP and FP the task saved at kernel entry, into r[0..2];
 * 0 when there are none (a kernel thread). Field by field: a whole
 * struct pt_regs on the stack here and in the walk's deferred branch is
 * more stack than the verifier allows the programs. */
static __always_inline int task_user_regs(rp_u64* r) {
  struct pt_regs* uregs = (struct pt_regs*)bpf_task_pt_regs(bpf_get_current_task_btf());
  rp_u64 cs = 0;
  if (!uregs || bpf_probe_read_kernel(&cs, sizeof(cs), &uregs->cs) != 0 || (cs & 3) != 3) return 0;
  if (bpf_probe_read_kernel(&r[0], sizeof(r[0]), &uregs->rip) != 0 ||
      bpf_probe_read_kernel(&r[1], sizeof(r[1]), &uregs->rsp) != 0 ||
      bpf_probe_read_kernel(&r[2], sizeof(r[2]), &uregs->rbp) != 0) {
    return 0;
  }
  return 1;
}

/* Table-based user stack walk from pc/sp/fp into s->data[nk...]. Returns
 * the frame count. */
static __always_inline rp_u32 unwind_user(struct rp_sample* s, rp_u32 nk,
                                          struct rp_cpu_stats* stats, rp_u64 pc, rp_u64 sp,
                                          rp_u64 fp) {
  rp_u32 zero = 0;
  struct rp_unwind_state* st = bpf_map_lookup_elem(&unwind_state, &zero);
  struct rp_stack_window* win = bpf_map_lookup_elem(&stack_window, &zero);
  if (!st || !win) return 0;
  win->len = 0;
  st->pc = pc;
  st->sp = sp;
  st->fp = fp;
  st->n = 0;
  st->nk = nk;
  st->methods = 0;
  st->stop = RP_STOP_NONE;
  st->tgid = s->pid;
  st->last_map = 0;
  st->unpublished = 0;
  struct rp_proc_maps* pm = bpf_map_lookup_elem(&proc_maps, &st->tgid);
  st->stamp = pm ? pm->stamp : 0;
  struct unwind_ctx c = {
      .s = s,
      .st = st,
      .win = win,
      .pm = pm,
      .cache = bpf_map_lookup_elem(&row_cache, &zero),
      .stats = stats,
  };
  bpf_loop(RP_MAX_STACK_DEPTH, unwind_step, &c, 0);
  if (st->stop == RP_STOP_DEFERRED) {
    struct rp_user_stack* us = bpf_map_lookup_elem(&user_stack, &zero);
    if (us) {
      us->regs_valid = 0;
      if (st->n == 1) {
        /* The task's saved user registers: those of the kernel entry for a
         * kernel-mode sample, and those the interrupt that ran this
         * program saved for a user-mode one; checked against the walk's. */
        struct pt_regs regs;
        struct pt_regs* uregs = (struct pt_regs*)bpf_task_pt_regs(bpf_get_current_task_btf());
        if (uregs && bpf_probe_read_kernel(&regs, sizeof(regs), uregs) == 0 && regs.rip == st->pc &&
            regs.rsp == st->sp) {
          RP_COPY_REGS(us, regs);
          us->regs_valid = 1;
        }
      }
      output_user_stack(us, st, s, stats);
    }
  }
  s->user_methods = st->methods;
  s->user_stop = st->stop;
  if (st->stop == RP_STOP_DEPTH) s->flags |= RP_SAMPLE_USER_TRUNCATED;
  return st->n;
}

/* Sends the first `size` bytes of *s to the ring; wakes the reader only
 * past wakeup_bytes of backlog. */
static __always_inline void submit_sample(struct rp_sample* s, rp_u64 size,
                                          struct rp_cpu_stats* st) {
  rp_u64 flags = BPF_RB_NO_WAKEUP;
  if (bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) >= wakeup_bytes) flags = BPF_RB_FORCE_WAKEUP;
  if (bpf_ringbuf_output(&samples, s, size, flags) != 0) st->lost++;
}

/* s->data[k] = v, with the bound check the verifier needs at the access. */
static __always_inline void put_word(struct rp_sample* s, rp_u64 k, rp_u64 v) {
  if (k < DATA_WORDS) s->data[k] = v;
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
  /* Several sampling events share the program: each link's cookie is its
   * event's index in the recording. */
  s->event_index = (rp_u16)bpf_get_attach_cookie(ctx);
  s->user_methods = 0;
  s->user_stop = RP_STOP_NONE;
  if (n_counters > 0) sample_counters(s, st);
  /* x86-64: the low two bits of CS are the privilege level of the
   * interrupted context. */
  if ((ctx->regs.cs & 3) == 0) s->flags |= RP_SAMPLE_IN_KERNEL;

  rp_u32 nk = 0;
  if (s->flags & RP_SAMPLE_IN_KERNEL) {
    long r = bpf_get_stack(ctx, s->data, STACK_BYTES, 0);
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
  if (s->pid != 0 && use_tables) {
    if (s->flags & RP_SAMPLE_IN_KERNEL) {
      rp_u64 r[3];
      if (task_user_regs(r)) nu = unwind_user(s, nk, st, r[0], r[1], r[2]);
    } else {
      nu = unwind_user(s, nk, st, ctx->regs.rip, ctx->regs.rsp, ctx->regs.rbp);
    }
  } else if (s->pid != 0) {
    /* The kernel walks user frame pointers, from the task's saved user
     * registers when the sample hit kernel mode. */
    long r = bpf_get_stack(ctx, &s->data[nk], STACK_BYTES, BPF_F_USER_STACK);
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

  /* The counter triples follow the IPs. */
  rp_u32 nc = 0;
  if (s->n_counters > 0) {
    rp_u32 two = 2;
    struct rp_counter_reading* d = bpf_map_lookup_elem(&cpu_snap, &two);
    rp_u64 base = nk + nu;
    if (d && base <= 2 * RP_MAX_STACK_DEPTH) {
#pragma unroll
      for (rp_u32 i = 0; i < RP_MAX_COUNTERS; i++) {
        if (i >= n_counters) break;
        put_word(s, base + i, d->value[i]);
        put_word(s, base + n_counters + i, d->enabled[i]);
        put_word(s, base + 2 * n_counters + i, d->running[i]);
      }
      nc = n_counters;
    }
    s->n_counters = nc;
  }
  rp_u64 size = HEADER_BYTES + (rp_u64)(nk + nu + 3 * nc) * sizeof(rp_u64);
  if (size > sizeof(*s)) size = sizeof(*s);
  s->hdr.size = size;

  submit_sample(s, size, st);
  if (self_timing) {
    rp_u64 ns = bpf_ktime_get_ns() - s->time_ns;
    rp_u64 bucket = ns / RP_TIMING_BUCKET_NS;
    rp_u32 key = bucket < RP_TIMING_BUCKETS ? (rp_u32)bucket : RP_TIMING_BUCKETS - 1;
    rp_u32 in_kernel = (s->flags & RP_SAMPLE_IN_KERNEL) ? 1 : 0;
    key += in_kernel * RP_TIMING_BUCKETS;
    rp_u64* n = bpf_map_lookup_elem(&timing, &key);
    if (n) (*n)++;
    rp_u32 sum_key = 2 * RP_TIMING_BUCKETS + in_kernel;
    rp_u64* sum = bpf_map_lookup_elem(&timing, &sum_key);
    if (sum) *sum += ns;
  }
  return 0;
}

/* The two fields of the kernel's task_struct that on_exec reads, at the
 * offsets the running kernel's BTF gives (CO-RE: libbpf relocates them at
 * load time). */
struct task_struct {
  int tgid;
  struct task_struct* real_parent;
} __attribute__((preserve_access_index));

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, RP_MAX_EXEC_ROOTS);
  __type(key, rp_u32);
  __type(value, rp_u8);
} exec_roots SEC(".maps");

/* Whether the current task is one being recorded: itself or one of its
 * closest RP_EXEC_ANCESTORS ancestors is a root. */
static __always_inline int exec_traced(void) {
  if (!exec_filter) return 1;
  struct task_struct* t = (struct task_struct*)bpf_get_current_task();
  for (int i = 0; i < RP_EXEC_ANCESTORS; i++) {
    if (!t) return 0;
    rp_u32 tgid = (rp_u32)BPF_CORE_READ(t, tgid);
    if (bpf_map_lookup_elem(&exec_roots, &tgid)) return 1;
    if (tgid <= 1) return 0;
    t = BPF_CORE_READ(t, real_parent);
  }
  return 0;
}

/* At execve entry (syscalls:sys_enter_execve): the task's user stack,
 * walked as a sample's, sent as an RP_SAMPLE_EXEC_STACK record. Samples taken in that execve after
 * the new image replaced the address space find their old stack gone; user space gives them this
 * one (the same user registers). No kernel stack, no counters. */
SEC("tracepoint")
int on_exec(void* ctx) {
  if (!exec_traced()) return 0;
  rp_u32 zero = 0;
  struct rp_sample* s = bpf_map_lookup_elem(&scratch, &zero);
  struct rp_cpu_stats* st = bpf_map_lookup_elem(&stats, &zero);
  if (!s || !st) return 0;
  rp_u64 pid_tgid = bpf_get_current_pid_tgid();
  s->hdr.type = RP_RECORD_SAMPLE;
  s->time_ns = bpf_ktime_get_ns();
  s->period = 0;
  s->pid = pid_tgid >> 32;
  s->tid = (rp_u32)pid_tgid;
  s->cpu = bpf_get_smp_processor_id();
  s->flags = RP_SAMPLE_IN_KERNEL | RP_SAMPLE_EXEC_STACK;
  s->n_kernel = 0;
  s->n_counters = 0;
  s->event_index = 0;
  s->user_methods = 0;
  s->user_stop = RP_STOP_NONE;
  rp_u32 nu = 0;
  if (use_tables) {
    rp_u64 r[3];
    if (!task_user_regs(r)) return 0;
    nu = unwind_user(s, 0, st, r[0], r[1], r[2]);
  } else {
    long r = bpf_get_stack(ctx, s->data, STACK_BYTES, BPF_F_USER_STACK);
    if (r < 0) return 0;
    nu = (rp_u64)r >> 3;
    if (nu >= RP_MAX_STACK_DEPTH) {
      nu = RP_MAX_STACK_DEPTH;
      s->flags |= RP_SAMPLE_USER_TRUNCATED;
    }
  }
  s->n_user = nu;
  rp_u64 size = HEADER_BYTES + (rp_u64)nu * sizeof(rp_u64);
  if (size > sizeof(*s)) size = sizeof(*s);
  s->hdr.size = size;
  submit_sample(s, size, st);
  return 0;
}
