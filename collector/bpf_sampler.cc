#include "collector/bpf_sampler.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "sampler.skel.h"

namespace ringprof::collector {
namespace {

// libbpf prints through this hook; keep the last warnings so that a load
// failure can say why (e.g. the verifier's complaint) in one error.
std::string& LibbpfLog() {
  static std::string log;
  return log;
}

int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof(buf), fmt, args);
  std::string& log = LibbpfLog();
  log.append(buf, n > 0 ? std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1) : 0);
  if (log.size() > 8192) log.erase(0, log.size() - 8192);
  return 0;
}

absl::Status BpfError(int err, const std::string& what) {
  if (err == EPERM || err == EACCES) {
    return absl::PermissionDeniedError(absl::StrCat(
        what, ": ", std::strerror(err),
        "; ringprof record needs CAP_BPF and CAP_PERFMON (run it as root, or grant them with "
        "'setcap cap_bpf,cap_perfmon+ep build/ringprof')"));
  }
  std::string log = LibbpfLog();
  while (!log.empty() && log.back() == '\n') log.pop_back();
  if (size_t nl = log.rfind('\n'); nl != std::string::npos) log = log.substr(nl + 1);
  return ErrnoStatus(err, log.empty() ? what : absl::StrCat(what, " (libbpf: ", log, ")"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<BpfSampler>> BpfSampler::Load(const BpfSamplerOptions& options,
                                                             RecordFn on_record) {
  libbpf_set_print(LibbpfPrint);
  std::unique_ptr<BpfSampler> s(new BpfSampler());
  s->on_record_ = std::move(on_record);
  s->skel_ = sampler__open();
  if (s->skel_ == nullptr) return BpfError(errno, "opening the BPF sample program");
  s->skel_->rodata->wakeup_bytes = options.wakeup_bytes;
  s->skel_->rodata->event_index = options.event_index;
  s->skel_->rodata->n_counters = options.n_counters;
  s->skel_->rodata->n_cpus = options.n_cpus;
  s->options_ = options;
  int err = bpf_map__set_max_entries(s->skel_->maps.samples, options.ring_bytes);
  if (err != 0) return BpfError(-err, "sizing the BPF ring buffer");
  if (options.n_counters > RP_MAX_COUNTERS) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", RP_MAX_COUNTERS, " counters can be read at each sample"));
  }
  if (options.n_counters > 0) {
    err = bpf_map__set_max_entries(s->skel_->maps.counters, options.n_counters * options.n_cpus);
    if (err != 0) return BpfError(-err, "sizing the BPF counter array");
  }
  err = sampler__load(s->skel_);
  if (err != 0) return BpfError(-err, "loading the BPF sample program");
  s->ring_ = ring_buffer__new(bpf_map__fd(s->skel_->maps.samples), &BpfSampler::OnRingRecord,
                              s.get(), nullptr);
  if (s->ring_ == nullptr) return BpfError(errno, "opening the BPF ring buffer");
  return s;
}

BpfSampler::~BpfSampler() {
  DetachAll();
  if (ring_ != nullptr) ring_buffer__free(ring_);
  if (skel_ != nullptr) sampler__destroy(skel_);
}

int BpfSampler::OnRingRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<BpfSampler*>(ctx);
  self->on_record_(absl::MakeConstSpan(static_cast<const uint8_t*>(data), size));
  return 0;
}

absl::Status BpfSampler::Attach(int perf_fd, bool keep_disabled) {
  // libbpf closes the fd it is given when the link is destroyed, so it
  // gets its own duplicate; the caller's PerfEvent keeps the original.
  int link_fd = fcntl(perf_fd, F_DUPFD_CLOEXEC, 0);
  if (link_fd < 0) return LastErrnoStatus("duplicating a perf event fd");
  struct bpf_link* link = bpf_program__attach_perf_event(skel_->progs.on_sample, link_fd);
  if (link == nullptr) {
    int err = errno;
    close(link_fd);
    return BpfError(err, "attaching the BPF sample program to a perf event");
  }
  links_.push_back(link);
  // libbpf enables the event on attach; an event meant to start at exec
  // must stay disabled until then.
  if (keep_disabled && ioctl(perf_fd, PERF_EVENT_IOC_DISABLE, 0) != 0) {
    return LastErrnoStatus("disabling perf event after attach");
  }
  return absl::OkStatus();
}

absl::Status BpfSampler::SetCounter(uint32_t counter, uint32_t cpu, int perf_fd) {
  uint32_t key = counter * options_.n_cpus + cpu;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.counters), &key, &perf_fd, BPF_ANY) != 0) {
    return BpfError(errno, absl::StrCat("installing counter ", counter, " of CPU ", cpu));
  }
  return absl::OkStatus();
}

absl::Status BpfSampler::AttachSwitchAccounting() {
  struct bpf_link* link =
      bpf_program__attach_raw_tracepoint(skel_->progs.on_switch, "sched_switch");
  if (link == nullptr) return BpfError(errno, "attaching the counter accounting to sched_switch");
  links_.push_back(link);
  return absl::OkStatus();
}

void BpfSampler::DetachAll() {
  for (struct bpf_link* l : links_) bpf_link__destroy(l);
  links_.clear();
}

absl::Status BpfSampler::Poll(int timeout_ms) {
  int n = ring_buffer__poll(ring_, timeout_ms);
  if (n < 0 && n != -EINTR) return ErrnoStatus(-n, "polling the BPF ring buffer");
  return Drain();
}

absl::Status BpfSampler::Drain() {
  int n = ring_buffer__consume(ring_);
  if (n < 0 && n != -EINTR) return ErrnoStatus(-n, "draining the BPF ring buffer");
  return absl::OkStatus();
}

absl::StatusOr<BpfSamplerStats> BpfSampler::ReadStats() const {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return ErrnoStatus(-ncpu, "counting possible CPUs");
  std::vector<rp_cpu_stats> per_cpu(static_cast<size_t>(ncpu));
  uint32_t key = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.stats), &key, per_cpu.data()) != 0) {
    return LastErrnoStatus("reading BPF statistics");
  }
  BpfSamplerStats total;
  for (const rp_cpu_stats& s : per_cpu) {
    total.samples += s.samples;
    total.lost += s.lost;
    total.user_failed += s.user_failed;
    total.counter_read_failed += s.counter_read_failed;
  }
  return total;
}

}  // namespace ringprof::collector
