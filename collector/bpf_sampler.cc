#include "collector/bpf_sampler.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "collector/tracefs.h"
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
  // libbpf prints a rejected program's whole verifier log in one call.
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return 0;
  std::string text(static_cast<size_t>(n) + 1, '\0');
  vsnprintf(text.data(), text.size(), fmt, args);
  text.pop_back();
  std::string& log = LibbpfLog();
  log += text;
  if (log.size() > 65536) log.erase(0, log.size() - 65536);
  return 0;
}

// The verifier's reason, from the end of a program load log: the last line
// before its statistics ("processed N insns ...").
std::string VerifierReason(const std::string& log) {
  size_t end = log.rfind("-- END PROG LOAD LOG --");
  if (end == std::string::npos) return "";
  std::vector<std::string> lines = absl::StrSplit(log.substr(0, end), '\n', absl::SkipEmpty());
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (absl::StartsWith(*it, "processed ") || absl::StartsWith(*it, "verification time") ||
        absl::StartsWith(*it, "stack depth") || absl::StartsWith(*it, "libbpf:")) {
      continue;
    }
    return *it;
  }
  return "";
}

absl::Status BpfError(int err, const std::string& what) {
  // As root, EACCES from loading is the verifier refusing the program, not
  // a missing capability: say what it said.
  if ((err == EPERM || err == EACCES) && geteuid() != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        what, ": ", std::strerror(err),
        "; ringprof record needs CAP_BPF and CAP_PERFMON (run it as root, or grant them with "
        "'setcap cap_bpf,cap_perfmon+ep build/ringprof')"));
  }
  std::string log = LibbpfLog();
  // For developers: the whole log (the verifier's trace of the refused
  // program) into the file that RINGPROF_BPF_LOG names.
  if (const char* path = getenv("RINGPROF_BPF_LOG"); path != nullptr && *path != '\0') {
    if (FILE* f = fopen(path, "we"); f != nullptr) {
      fwrite(log.data(), 1, log.size(), f);
      fclose(f);
    }
  }
  if (std::string reason = VerifierReason(log); !reason.empty()) {
    return ErrnoStatus(err, absl::StrCat(what, ": the kernel's verifier refused it: ", reason));
  }
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
  s->skel_->rodata->n_counters = options.n_counters;
  s->skel_->rodata->n_cpus = options.n_cpus;
  s->skel_->rodata->use_tables = options.use_tables ? 1 : 0;
  s->skel_->rodata->self_timing = options.self_timing ? 1 : 0;
  s->skel_->rodata->exec_filter = options.exec_filter ? 1 : 0;
  // Not loaded (nor verified) unless asked for.
  bpf_program__set_autoload(s->skel_->progs.on_exec, options.exec_stacks);
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
  if (options.use_tables) {
    if (options.unwind_rows == 0) return absl::InvalidArgumentError("--unwind-mem is too small");
    err = bpf_map__set_max_entries(s->skel_->maps.unwind_rows, options.unwind_rows);
    if (err != 0) return BpfError(-err, "sizing the BPF unwind row array");
  }
  // The verifier writes its statistics into this buffer; 4 KiB holds them
  // (log level 4 logs nothing else for a program it accepts, so a refusal
  // is then explained less well: this is for tests and benchmarks).
  std::string verifier_log;
  if (options.verifier_stats != nullptr) {
    verifier_log.assign(4096, '\0');
    bpf_program__set_log_buf(s->skel_->progs.on_sample, verifier_log.data(), verifier_log.size());
    bpf_program__set_log_level(s->skel_->progs.on_sample, 4);  // BPF_LOG_STATS
  }
  err = sampler__load(s->skel_);
  if (options.verifier_stats != nullptr) *options.verifier_stats = verifier_log.c_str();
  if (err != 0) {
    if (err == -ENOMEM || err == -E2BIG) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "loading the BPF sample program: ", std::strerror(-err),
          "; the unwind tables (--unwind-mem) or the ring buffer may be too large for the "
          "locked-memory limit"));
    }
    return BpfError(-err, "loading the BPF sample program");
  }
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

absl::Status BpfSampler::Attach(int perf_fd, bool keep_disabled, uint32_t event_index) {
  // libbpf closes the fd it is given when the link is destroyed, so it
  // gets its own duplicate; the caller's PerfEvent keeps the original.
  int link_fd = fcntl(perf_fd, F_DUPFD_CLOEXEC, 0);
  if (link_fd < 0) return LastErrnoStatus("duplicating a perf event fd");
  LIBBPF_OPTS(bpf_perf_event_opts, opts, .bpf_cookie = event_index);
  struct bpf_link* link =
      bpf_program__attach_perf_event_opts(skel_->progs.on_sample, link_fd, &opts);
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

absl::Status BpfSampler::AttachExecStacks(const std::vector<uint32_t>& roots) {
  if (!options_.exec_stacks) return absl::FailedPreconditionError("on_exec was not loaded");
  if (options_.exec_filter) {
    if (roots.size() > RP_MAX_EXEC_ROOTS) {
      return absl::InvalidArgumentError(
          absl::StrCat("more than ", RP_MAX_EXEC_ROOTS, " processes to take execve stacks of"));
    }
    const uint8_t one = 1;
    for (uint32_t tgid : roots) {
      if (bpf_map_update_elem(bpf_map__fd(skel_->maps.exec_roots), &tgid, &one, BPF_ANY) != 0) {
        return BpfError(errno, absl::StrCat("adding process ", tgid, " to the execve filter"));
      }
    }
  }
  // libbpf finds the tracepoints' ids in tracefs (TracefsDir mounts it
  // when it is not).
  RETURN_IF_ERROR(TracefsDir().status());
  // execve only: execveat (fexecve) is rare, and each tracepoint link
  // costs ~75 ms of wall time when it is torn down (the kernel waits for
  // an RCU grace period of the faultable syscall tracepoints).
  struct bpf_link* link =
      bpf_program__attach_tracepoint(skel_->progs.on_exec, "syscalls", "sys_enter_execve");
  if (link == nullptr) {
    return BpfError(errno, "attaching the execve stack program to syscalls:sys_enter_execve");
  }
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

int BpfSampler::epoll_fd() const { return ring_buffer__epoll_fd(ring_); }

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
    total.unwind_table_frames += s.unwind_table_frames;
    total.unwind_fp_frames += s.unwind_fp_frames;
    total.row_cache_hits += s.row_cache_hits;
    total.deferred += s.deferred;
    total.deferred_lost += s.deferred_lost;
  }
  return total;
}

absl::StatusOr<std::vector<uint64_t>> BpfSampler::ReadTiming() const {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return ErrnoStatus(-ncpu, "counting possible CPUs");
  std::vector<uint64_t> hist(RP_TIMING_KEYS);
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpu));
  for (uint32_t key = 0; key < RP_TIMING_KEYS; ++key) {
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.timing), &key, per_cpu.data()) != 0) {
      return LastErrnoStatus("reading the BPF timing histogram");
    }
    for (uint64_t n : per_cpu) hist[key] += n;
  }
  return hist;
}

absl::Status BpfSampler::WriteRows(uint32_t first, absl::Span<const rp_unwind_row> rows) {
  if (!options_.use_tables || first > options_.unwind_rows ||
      rows.size() > options_.unwind_rows - first) {
    return absl::OutOfRangeError(
        absl::StrCat("unwind rows [", first, ", +", rows.size(), ") past the row array"));
  }
  if (rows.empty()) return absl::OkStatus();
  constexpr size_t kPage = 4096;
  const size_t begin = size_t{first} * sizeof(rp_unwind_row);
  const size_t end = begin + rows.size() * sizeof(rp_unwind_row);
  const size_t map_begin = begin & ~(kPage - 1);
  const size_t map_len = ((end + kPage - 1) & ~(kPage - 1)) - map_begin;
  void* p = mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
                 bpf_map__fd(skel_->maps.unwind_rows), static_cast<off_t>(map_begin));
  if (p == MAP_FAILED) return LastErrnoStatus("mapping part of the BPF unwind row array");
  std::memcpy(static_cast<char*>(p) + (begin - map_begin), rows.data(), end - begin);
  munmap(p, map_len);
  return absl::OkStatus();
}

absl::Status BpfSampler::WriteBin(uint32_t slot, const rp_unwind_bin& bin) {
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.unwind_bins), &slot, &bin, BPF_ANY) != 0) {
    return BpfError(errno, absl::StrCat("writing unwind table slot ", slot));
  }
  return absl::OkStatus();
}

absl::Status BpfSampler::WriteProcMaps(uint32_t tgid, const rp_proc_maps& maps) {
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.proc_maps), &tgid, &maps, BPF_ANY) != 0) {
    return BpfError(errno, absl::StrCat("writing the unwind mappings of process ", tgid));
  }
  return absl::OkStatus();
}

absl::Status BpfSampler::DeleteProcMaps(uint32_t tgid) {
  if (bpf_map_delete_elem(bpf_map__fd(skel_->maps.proc_maps), &tgid) != 0) {
    if (errno == ENOENT) return absl::NotFoundError("no such process entry");
    return BpfError(errno, absl::StrCat("removing the unwind mappings of process ", tgid));
  }
  return absl::OkStatus();
}

}  // namespace ringprof::collector
