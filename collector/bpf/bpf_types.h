/* Types the BPF programs need, taken from the kernel's UAPI headers as
 * shipped by Debian's linux-libc-dev (stable ABI), so the BPF build never
 * depends on the build host's running kernel or its BTF. No CO-RE
 * relocations are needed for what these programs read: the perf_event
 * context layout (struct bpf_perf_event_data, struct pt_regs) is UAPI. */
#ifndef RINGPROF_COLLECTOR_BPF_BPF_TYPES_H_
#define RINGPROF_COLLECTOR_BPF_BPF_TYPES_H_

#include <asm/ptrace.h>
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <linux/types.h>

#endif
