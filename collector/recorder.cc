#include "collector/recorder.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/scoped_fd.h"
#include "base/status_macros.h"
#include "collector/bpf/sample_record.h"
#include "collector/bpf_sampler.h"
#include "collector/event_probe.h"
#include "collector/event_spec.h"
#include "collector/kernel_symbols.h"
#include "collector/perf_event.h"
#include "collector/perf_sample.h"
#include "collector/process_maps.h"
#include "collector/ring_record.h"
#include "collector/sideband.h"
#include "collector/target.h"
#include "collector/tracefs.h"
#include "collector/unwind_tables.h"
#include "collector/vdso.h"
#include "unwind/dwarf_unwinder.h"
#include "unwind/elf_image.h"

namespace ringprof::collector {
namespace {

constexpr size_t kSidebandPages = 64;  // 256 KiB per CPU
// --call-graph dwarf: samples carry 16 KiB of stack each (by default) and
// go through the perf ring, so it is larger (8 MiB per CPU for 16 KiB) and
// wakes the reader when a quarter full.
constexpr size_t kDwarfRingPagesPer16K = 2048;
constexpr size_t kMaxDwarfRingPages = 8192;
constexpr uint64_t kFlushNs = 1'000'000'000;
constexpr size_t kFlushSamples = 20000;
// -e events at once: each is one perf event per CPU and task.
constexpr size_t kMaxSamplingEvents = 16;

uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t RealtimeNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return LastErrnoStatus(absl::StrCat("reading ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// CPUs listed in /sys/devices/system/cpu/online ("0-3,5").
absl::StatusOr<std::vector<int>> OnlineCpus() {
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile("/sys/devices/system/cpu/online"));
  std::vector<int> cpus;
  for (absl::string_view part : absl::StrSplit(absl::StripAsciiWhitespace(text), ',')) {
    std::vector<absl::string_view> ab = absl::StrSplit(part, '-');
    int a = 0;
    int b = 0;
    if (!absl::SimpleAtoi(ab[0], &a)) continue;
    b = a;
    if (ab.size() == 2 && !absl::SimpleAtoi(ab[1], &b)) continue;
    for (int c = a; c <= b; ++c) cpus.push_back(c);
  }
  if (cpus.empty()) return absl::InternalError("no online CPUs found");
  return cpus;
}

perf_event_attr BaseAttr() {
  perf_event_attr a;
  std::memset(&a, 0, sizeof(a));
  a.size = sizeof(a);
  a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME;
  a.sample_id_all = 1;
  a.use_clockid = 1;
  a.clockid = CLOCK_MONOTONIC;
  return a;
}

// Turns a failed perf_event_open of the sampling event into one clear line.
absl::Status ExplainOpenFailure(const absl::Status& s, const EventSpec& spec) {
  if (absl::IsPermissionDenied(s)) {
    return absl::PermissionDeniedError(
        absl::StrCat(s.message(),
                     "; profiling needs CAP_PERFMON (run as root) or a lower "
                     "kernel.perf_event_paranoid"));
  }
  // Opening the event alone, as a counter, tells "not supported here" (with
  // what is available) from other failures.
  absl::Status probe = ProbeEvent(spec);
  if (!probe.ok()) return probe;
  return s;
}

// Fails early, with the path in the message, when `path` cannot be created
// or written; leaves an existing file untouched.
absl::Status ProbeWritable(const std::string& path) {
  bool existed = access(path.c_str(), F_OK) == 0;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return LastErrnoStatus(
        absl::StrCat("cannot write the recording to ", path, " (choose another path with -o)"));
  }
  close(fd);
  if (!existed) unlink(path.c_str());
  return absl::OkStatus();
}

class Session {
 public:
  explicit Session(const RecordOptions& o) : opt_(o) {}
  // The phases, in order: check the options, set up the target, the BPF
  // program and the events, write the recording's first chunks, start the
  // target or the sampling, drain until a stop condition, then stop and
  // finish the file.
  absl::StatusOr<RecordSummary> Run();

 private:
  absl::Status Validate();
  absl::Status SetUp();
  absl::Status WriteHeader();
  absl::Status Start();
  void Loop();
  absl::StatusOr<RecordSummary> Finish();
  bool to_stdout() const { return opt_.output == "-"; }
  absl::Status OpenEvents(const std::vector<pid_t>& tids, bool per_task, bool at_exec);
  absl::Status OpenCounters();
  // Enables the sampling events (for a command, exec does it instead).
  absl::Status StartSampling();
  std::vector<formats::CounterScaling> CounterScalings() const {
    std::vector<formats::CounterScaling> out;
    for (const CounterTotal& t : counter_totals_) {
      out.push_back({t.time_enabled_ns, t.time_running_ns});
    }
    return out;
  }
  void OnBpfRecord(absl::Span<const uint8_t> bytes);
  void DrainSideband();
  // Publishes changed address spaces to the BPF table unwinder.
  void UpdateUnwindTables();
  // Waits up to timeout_ms for the BPF ring or (table modes) a side-band
  // ring to wake us, then drains the BPF ring.
  absl::Status Wait(int timeout_ms);
  void Warn(const std::string& message);
  bool dwarf() const { return opt_.call_graph == CallGraphMode::kDwarf; }
  // The perf ring of dwarf mode: 8 MiB per CPU for 16 KiB stack copies,
  // scaled with the copy size.
  size_t DwarfRingPages() const {
    size_t pages = kDwarfRingPagesPer16K * opt_.dwarf_stack_bytes / 16384;
    pages = std::bit_ceil(std::max<size_t>(pages, 64));
    return std::min(pages, kMaxDwarfRingPages);
  }
  // Unwinds the --call-graph dwarf samples queued by DrainSideband.
  void ResolveDwarfPending();
  // libunwind's walk of `pid`'s stack copy (from stack_addr) from `regs`,
  // through the .eh_frame of the files mapped at time_ns.
  absl::StatusOr<unwind::DwarfStack> DwarfWalk(uint32_t pid, uint64_t time_ns,
                                               const unwind::UserRegs& regs,
                                               absl::Span<const uint8_t> stack,
                                               uint64_t stack_addr);
  // Why a DwarfWalk stopped, in the recording's terms.
  formats::UnwindStop DwarfStopOf(const unwind::DwarfStack& stack, uint32_t pid, uint64_t time_ns);
  // A table walk the BPF program deferred (RP_STOP_DEFERRED): finishes it
  // from the stack copy that came before it from the same CPU, into
  // *pcs (the BPF frames so far) and *flags.
  void FinishDeferredWalk(const RingSample& s, std::vector<uint64_t>* pcs, uint32_t* flags);
  // The latest stack copy from each CPU, kept until its sample comes (it
  // may come in the next drain).
  // A decoded stack record and its bytes (rec.stack points into them).
  struct StackCopy {
    RingUserStack rec;
    std::vector<uint8_t> bytes;
  };

  absl::flat_hash_map<uint32_t, StackCopy> stack_copies_;  // by cpu
  // Whether return address `pc` of `pid` lies in its ELF's entry code.
  bool AtEntryPoint(uint32_t pid, uint64_t time_ns, uint64_t pc);
  struct EntryPoint {
    std::vector<unwind::LoadSegment> segments;
    uint64_t entry = 0;  // 0: unknown
  };
  absl::node_hash_map<std::string, EntryPoint> entry_points_;  // by path
  // Appends a user stack's frames (leaf first) as (mapping, offset) pairs.
  void AppendUserFrames(uint32_t pid, uint64_t time_ns, absl::Span<const uint64_t> pcs,
                        formats::Sample* out);
  bool tables() const {
    return opt_.call_graph == CallGraphMode::kAuto || opt_.call_graph == CallGraphMode::kSframe ||
           opt_.call_graph == CallGraphMode::kEhFrame;
  }
  void ResolvePending();
  absl::Status Flush(bool force);
  // Brings loss_ up to date with the BPF program's and the unwinder's
  // counts; returns the program's statistics.
  absl::StatusOr<BpfSamplerStats> RefreshLoss();

  const RecordOptions& opt_;
  std::vector<EventSpec> specs_;  // -e, in order: Sample::event_index indexes it
  std::vector<EventSpec> counter_specs_;
  std::deque<PerfEvent> counter_events_;
  std::vector<CounterTotal> counter_totals_;
  bool counters_grouped_ = true;
  std::unique_ptr<formats::RecordingWriter> writer_;
  std::unique_ptr<BpfSampler> sampler_;
  std::vector<const PerfEvent*> sampling_events_;  // in events_
  // The user stack of each thread's latest execve entry (RP_SAMPLE_EXEC_STACK
  // records), for the samples taken in that execve after the old address
  // space is gone (AppendUserFrames).
  struct ExecStack {
    uint32_t pid = 0;
    uint64_t time_ns = 0;
    std::vector<uint64_t> pcs;
    uint32_t flags = 0;  // formats::kSampleUnwound*, stop and truncation bits
  };
  absl::flat_hash_map<uint32_t, ExecStack> exec_stacks_;  // by tid
  // When the command's first exec (out of the parked copy of this
  // recorder) was done: its exec stack is this recorder's, of no use.
  uint64_t child_exec_ns_ = 0;
  void KeepExecStack(const RingSample& s);
  // How the BPF walk went (formats::kSampleUnwound* and stop bits).
  uint32_t UserWalkFlags(const RingSample& s) const;
  std::deque<PerfEvent> events_;  // sampling + side-band events (stable addresses)
  std::vector<PerfRing> rings_;   // one side-band ring per CPU
  ProcessMapTracker tracker_;
  std::unique_ptr<UnwindTables> unwind_;
  std::optional<VdsoImage> vdso_;  // the [vdso] behind every process (stored; unwound through)
  ScopedFd epoll_;                 // table and dwarf modes: BPF ring + side-band rings
  // --call-graph dwarf: raw PERF_RECORD_SAMPLEs waiting for their mappings.
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> dwarf_pending_;  // (cpu, record)
  std::vector<uint32_t> ring_cpus_;  // the CPU of each of rings_
  std::unique_ptr<unwind::DwarfUnwinder> dwarf_unwinder_;
  absl::node_hash_map<uint32_t, unwind::FileMapping> dwarf_files_;  // by mapping id
  // BPF records not yet resolved, back to back in one buffer (no
  // allocation per sample once it has grown), with their [offset, size).
  std::vector<uint8_t> pending_bytes_;
  std::vector<std::pair<size_t, size_t>> pending_;
  RingSample ring_sample_;  // decoding space, reused
  // Ring records that did not decode, by RingRecordStatus.
  std::vector<uint64_t> bad_ring_records_ = std::vector<uint64_t>(kRingRecordStatusCount);
  std::vector<formats::Sample> ready_;
  std::vector<pid_t> pids_;  // -p, as process ids
  formats::LossStats loss_;
  uint64_t perf_ring_lost_samples_ = 0;              // dwarf mode: LOST records of the perf rings
  std::optional<formats::LossStats> stats_written_;  // the last STATS chunk written
  uint64_t last_flush_ns_ = 0;
  uint64_t samples_written_ = 0;
  absl::Status record_error_;
  std::optional<ChildProcess> child_;  // the command, when one is given
  uint64_t start_ns_ = 0;              // the recording's start (META)
  uint64_t sampling_start_ns_ = 0;     // when sampling (or the command) started
  bool interrupted_ = false;           // SIGINT/SIGTERM
  uint64_t processes_exited_ns_ = 0;   // -p: when the last one was seen gone

  // /proc/kallsyms, read at the first kernel frame; each flush stores the
  // symbols its samples use.
  KallsymsIndex kallsyms_{LiveKernelFiles(), [this](const std::string& m) { Warn(m); }};
};

absl::Status Session::OpenEvents(const std::vector<pid_t>& tids, bool per_task, bool at_exec) {
  ASSIGN_OR_RETURN(std::vector<int> cpus, OnlineCpus());
  // One sampling attr per -e event, all at the same -F or -c.
  std::vector<perf_event_attr> sampling(specs_.size());
  for (size_t i = 0; i < specs_.size(); ++i) {
    perf_event_attr& sa = sampling[i];
    sa = BaseAttr();
    ApplyEventSpec(specs_[i], &sa);
    if (opt_.period) {
      sa.sample_period = *opt_.period;
    } else {
      sa.freq = 1;
      sa.sample_freq = opt_.frequency.value_or(999);
    }
  }
  perf_event_attr da = BaseAttr();
  da.type = PERF_TYPE_SOFTWARE;
  da.config = PERF_COUNT_SW_DUMMY;
  da.mmap = 1;
  da.mmap2 = 1;
  da.build_id = 1;
  da.comm = 1;
  da.comm_exec = 1;
  da.task = 1;
  // The kernel's default wakeup (the ring half full), not one per record:
  // each wakeup costs the kernel a self-IPI (irq_work) at every mmap and
  // comm, a VM exit on a virtual machine; in a fork/exec loop that was 14%
  // of the workload's samples. The loop drains the side-band rings every
  // 100 ms anyway, and a sample whose mapping is not published yet is
  // deferred and still unwound whole.
  std::vector<perf_event_attr*> attrs = {&da};
  for (perf_event_attr& sa : sampling) attrs.push_back(&sa);
  for (perf_event_attr* a : attrs) {
    a->inherit = per_task ? 1 : 0;
    a->disabled = at_exec ? 1 : 0;
    a->enable_on_exec = at_exec ? 1 : 0;
  }
  const size_t ring_pages = dwarf() ? DwarfRingPages() : kSidebandPages;
  for (perf_event_attr& sa : sampling) {
    if (dwarf()) {
      // perf's --call-graph dwarf: the kernel call chain, the user registers
      // and a copy of the user stack, unwound later in user space.
      sa.sample_type = kDwarfSampleType;
      sa.exclude_callchain_user = 1;
      sa.sample_regs_user = unwind::kDwarfRegsMask;
      sa.sample_stack_user = opt_.dwarf_stack_bytes;
      sa.watermark = 1;
      sa.wakeup_watermark = static_cast<uint32_t>(ring_pages * 4096 / 4);
    }
    // Sampling starts only when setup is done (StartSampling), so that the
    // /proc scan and the first chunks neither eat into --duration nor
    // let the rings fill with nobody draining them. Side-band events start
    // at once: mappings made during setup must not be missed.
    sa.disabled = 1;
  }
  // A thread that exited while events were being opened is skipped; any
  // other failure is the event's.
  auto gone = [per_task](pid_t tid) {
    return per_task && access(absl::StrCat("/proc/", tid).c_str(), F_OK) != 0;
  };
  for (int cpu : cpus) {
    const PerfEvent* ring_owner = nullptr;
    for (pid_t tid : tids) {
      absl::StatusOr<PerfEvent> dummy = PerfEvent::Open(da, tid, cpu, -1, "side-band dummy");
      if (!dummy.ok()) {
        if (gone(tid)) continue;
        return ExplainOpenFailure(dummy.status(), specs_[0]);
      }
      std::vector<PerfEvent> samps;
      bool tid_gone = false;
      for (size_t i = 0; i < specs_.size(); ++i) {
        absl::StatusOr<PerfEvent> samp = PerfEvent::Open(sampling[i], tid, cpu, -1, specs_[i].name);
        if (!samp.ok()) {
          if (gone(tid)) {
            tid_gone = true;
            break;
          }
          if (absl::IsInvalidArgument(samp.status()) && !opt_.period) {
            return absl::InvalidArgumentError(
                absl::StrCat(samp.status().message(),
                             "; the frequency may exceed "
                             "/proc/sys/kernel/perf_event_max_sample_rate"));
          }
          return ExplainOpenFailure(samp.status(), specs_[i]);
        }
        samps.push_back(std::move(*samp));
      }
      if (tid_gone) continue;
      events_.push_back(std::move(*dummy));
      PerfEvent& d = events_.back();
      if (ring_owner == nullptr) {
        ASSIGN_OR_RETURN(PerfRing ring, PerfRing::Map(d, ring_pages));
        rings_.push_back(std::move(ring));
        ring_cpus_.push_back(static_cast<uint32_t>(cpu));
        ring_owner = &d;
        if (epoll_.valid()) {
          epoll_event ev{};
          ev.events = EPOLLIN;
          if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, d.fd(), &ev) != 0) {
            return LastErrnoStatus("watching a side-band ring");
          }
        }
      } else {
        RETURN_IF_ERROR(d.SetOutput(*ring_owner));
      }
      for (size_t i = 0; i < samps.size(); ++i) {
        events_.push_back(std::move(samps[i]));
        PerfEvent& s = events_.back();
        RETURN_IF_ERROR(s.SetOutput(*ring_owner));
        if (!dwarf()) {
          RETURN_IF_ERROR(
              sampler_->Attach(s.fd(), /*keep_disabled=*/true, static_cast<uint32_t>(i)));
        }
        sampling_events_.push_back(&s);
      }
    }
  }
  if (rings_.empty()) return absl::NotFoundError("the target exited before it could be profiled");
  return absl::OkStatus();
}

absl::Status Session::StartSampling() {
  for (const PerfEvent* e : sampling_events_) RETURN_IF_ERROR(e->Enable());
  return absl::OkStatus();
}

perf_event_attr CounterAttr(const EventSpec& spec) {
  perf_event_attr a = CountingAttr(spec);
  // Only a group leader may be pinned or exclusive; counters are read, not
  // pinned.
  a.pinned = 0;
  a.exclusive = 0;
  return a;
}

absl::Status Session::OpenCounters() {
  if (counter_specs_.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<int> cpus, OnlineCpus());
  // Per CPU, the counters form one group (leader: the first), so the PMU
  // schedules them together and ratios between them (IPC, MPKI) hold. If
  // the group does not fit the PMU, they are opened separately and the
  // kernel multiplexes them; values are scaled by enabled/running time.
  auto open_cpu = [&](int cpu, bool grouped) -> absl::StatusOr<std::vector<PerfEvent>> {
    std::vector<PerfEvent> set;
    for (const EventSpec& spec : counter_specs_) {
      int group_fd = grouped && !set.empty() ? set.front().fd() : -1;
      ASSIGN_OR_RETURN(PerfEvent e, PerfEvent::Open(CounterAttr(spec), -1, cpu, group_fd,
                                                    absl::StrCat("counter ", spec.name)));
      set.push_back(std::move(e));
    }
    return set;
  };
  for (int cpu : cpus) {
    absl::StatusOr<std::vector<PerfEvent>> set = open_cpu(cpu, counters_grouped_);
    if (!set.ok() && counters_grouped_ && counter_specs_.size() > 1 &&
        (absl::IsInvalidArgument(set.status()) || absl::IsResourceExhausted(set.status()))) {
      counters_grouped_ = false;
      set = open_cpu(cpu, false);
    }
    if (!set.ok()) {
      // Name the counter that failed: open each alone to find it.
      for (const EventSpec& spec : counter_specs_) {
        absl::StatusOr<PerfEvent> one = PerfEvent::Open(CounterAttr(spec), -1, cpu, -1, spec.name);
        if (!one.ok()) return ExplainOpenFailure(one.status(), spec);
      }
      return set.status();
    }
    for (size_t i = 0; i < set->size(); ++i) {
      RETURN_IF_ERROR(sampler_->SetCounter(static_cast<uint32_t>(i), static_cast<uint32_t>(cpu),
                                           (*set)[i].fd()));
      counter_events_.push_back(std::move((*set)[i]));
    }
  }
  return sampler_->AttachSwitchAccounting();
}

void Session::OnBpfRecord(absl::Span<const uint8_t> bytes) {
  // Kept as they are; ResolvePending decodes them (and counts the bad ones)
  // once the mappings they need are known.
  pending_.emplace_back(pending_bytes_.size(), bytes.size());
  pending_bytes_.insert(pending_bytes_.end(), bytes.begin(), bytes.end());
}

void Session::DrainSideband() {
  for (size_t ri = 0; ri < rings_.size(); ++ri) {
    rings_[ri].Drain([&](absl::Span<const uint8_t> rec) {
      perf_event_header h;
      if (rec.size() >= sizeof(h)) {
        std::memcpy(&h, rec.data(), sizeof(h));
        if (h.type == PERF_RECORD_SAMPLE) {
          dwarf_pending_.emplace_back(ring_cpus_[ri], std::vector<uint8_t>(rec.begin(), rec.end()));
          return;
        }
      }
      absl::StatusOr<SidebandRecord> r = ParseSidebandRecord(rec);
      if (!r.ok()) {
        ++loss_.lost_perf_records;
        return;
      }
      switch (r->kind) {
        case SidebandRecord::Kind::kLost:
          // In dwarf mode the samples share the perf ring: most lost
          // records are samples.
          (dwarf() ? perf_ring_lost_samples_ : loss_.lost_perf_records) += r->lost;
          break;
        case SidebandRecord::Kind::kThrottle:
          ++loss_.throttle_events;
          break;
        default:
          tracker_.Apply(*r);
      }
    });
  }
}

void Session::Warn(const std::string& message) {
  if (!opt_.quiet) fprintf(stderr, "ringprof record: warning: %s\n", message.c_str());
}

void Session::UpdateUnwindTables() {
  std::vector<uint32_t> changed = tracker_.TakeChangedPids();
  std::vector<uint32_t> exited = tracker_.TakeExitedPids();
  if (!unwind_) return;
  for (uint32_t pid : changed) {
    if (absl::Status s = unwind_->UpdateProcess(pid, tracker_.CurrentMappings(pid)); !s.ok()) {
      Warn(absl::StrCat("unwind tables of process ", pid, ": ", s.message()));
    }
  }
  for (uint32_t pid : exited) (void)unwind_->RemoveProcess(pid);
  // Tables that deferred walks asked for: built now, and published to every
  // process that maps them.
  for (uint32_t pid : unwind_->BuildWanted()) {
    if (absl::Status s = unwind_->UpdateProcess(pid, tracker_.CurrentMappings(pid)); !s.ok()) {
      Warn(absl::StrCat("unwind tables of process ", pid, ": ", s.message()));
    }
  }
}

absl::Status Session::Wait(int timeout_ms) {
  if (!epoll_.valid()) return sampler_->Poll(timeout_ms);
  epoll_event ev[8];
  if (epoll_wait(epoll_.get(), ev, 8, timeout_ms) < 0 && errno != EINTR) {
    return LastErrnoStatus("waiting for the rings");
  }
  return sampler_->Drain();
}

void Session::AppendUserFrames(uint32_t pid, uint64_t time_ns, absl::Span<const uint64_t> pcs,
                               formats::Sample* out) {
  // A zero return address ends some frame-pointer chains; it is the end of
  // the stack, not a frame.
  while (!pcs.empty() && pcs.back() == 0) pcs.remove_suffix(1);
  out->user_frames.reserve(pcs.size());
  for (size_t i = 0; i < pcs.size(); ++i) {
    formats::UserFrame f = tracker_.Resolve(pid, time_ns, pcs[i]);
    if (f.mapping_id == 0 && i == 0 && (out->flags & formats::kSampleInKernel)) {
      // In execve, past the switch to the new address space: the user
      // registers are still the old image's. Its stack is gone, so the
      // leaf (the old image's execve) is all there is.
      if (formats::UserFrame old = tracker_.ResolveBeforeExec(pid, time_ns, pcs[0]);
          old.mapping_id != 0) {
        // The stack the task had at execve entry is this one: same user
        // registers (the leaf is the same return point into execve).
        auto es = exec_stacks_.find(out->tid);
        if (es != exec_stacks_.end() && es->second.pid == pid && es->second.time_ns <= time_ns &&
            !es->second.pcs.empty() && es->second.pcs[0] == pcs[0]) {
          const ExecStack& e = es->second;
          out->flags = (out->flags & ~(formats::kSampleStopMask | formats::kSampleUnwoundMask |
                                       formats::kSampleUserTruncated)) |
                       e.flags;
          if (e.flags & formats::kSampleUserTruncated) ++loss_.user_truncated;
          for (size_t j = 0; j < e.pcs.size(); ++j) {
            formats::UserFrame g = tracker_.Resolve(pid, e.time_ns, e.pcs[j]);
            if (g.mapping_id == 0) {
              ++loss_.unmapped_user_frames;
              if (j > 0) break;
            }
            out->user_frames.push_back(g);
          }
          return;
        }
        out->user_frames.push_back(old);
        if (formats::SampleStop(out->flags) == formats::UnwindStop::kEnd) {
          out->flags =
              (out->flags & ~formats::kSampleStopMask) |
              (static_cast<uint32_t>(formats::UnwindStop::kMiss) << formats::kSampleStopShift);
        }
        return;
      }
    }
    if (f.mapping_id == 0) {
      ++loss_.unmapped_user_frames;
      // A return address in no executable mapping means the walk left the
      // stack (a frame-pointer guess in code built without them): what
      // follows is noise, so the stack ends here. A leaf outside every
      // mapping (JIT code, a sample during exec) is kept.
      if (i > 0) break;
    }
    out->user_frames.push_back(f);
  }
}

bool Session::AtEntryPoint(uint32_t pid, uint64_t time_ns, uint64_t pc) {
  const formats::Mapping* m = tracker_.FindMapping(pid, time_ns, pc);
  if (m == nullptr || m->path.empty() || m->path[0] != '/') return false;
  auto [it, inserted] = entry_points_.try_emplace(m->path);
  if (inserted) {
    absl::StatusOr<std::vector<unwind::LoadSegment>> segs = unwind::ReadLoadSegments(m->path);
    absl::StatusOr<uint64_t> entry = unwind::ReadEntryPoint(m->path);
    if (segs.ok() && entry.ok()) it->second = {std::move(*segs), *entry};
  }
  const EntryPoint& e = it->second;
  if (e.entry == 0) return false;
  // A return address just past the entry's first calls (ld.so: +8,
  // glibc's crt1: about +0x25).
  std::optional<uint64_t> vaddr =
      unwind::FileOffsetToVaddr(e.segments, pc - 1 - m->start + m->pgoff);
  return vaddr && *vaddr >= e.entry && *vaddr - e.entry < unwind::kEntryCodeBytes;
}

absl::StatusOr<unwind::DwarfStack> Session::DwarfWalk(uint32_t pid, uint64_t time_ns,
                                                      const unwind::UserRegs& regs,
                                                      absl::Span<const uint8_t> stack,
                                                      uint64_t stack_addr) {
  if (!dwarf_unwinder_) dwarf_unwinder_ = std::make_unique<unwind::DwarfUnwinder>();
  auto lookup = [&](uint64_t addr) -> const unwind::FileMapping* {
    const formats::Mapping* m = tracker_.FindMapping(pid, time_ns, addr);
    if (m == nullptr) return nullptr;
    std::string path = m->path;
    if (path == "[vdso]" && vdso_) path = vdso_->path();
    if (path.empty() || path[0] != '/') return nullptr;
    auto [it, inserted] = dwarf_files_.try_emplace(m->id);
    if (inserted) it->second = unwind::FileMapping{path, m->start, m->end, m->pgoff};
    return &it->second;
  };
  return dwarf_unwinder_->Unwind(regs, stack, stack_addr, lookup, RP_MAX_STACK_DEPTH);
}

formats::UnwindStop Session::DwarfStopOf(const unwind::DwarfStack& stack, uint32_t pid,
                                         uint64_t time_ns) {
  using formats::UnwindStop;
  switch (stack.stop) {
    case unwind::DwarfStop::kEnd:
      return UnwindStop::kEnd;
    case unwind::DwarfStop::kNoInfo:
      // ld.so's _start has no unwind information: a walk that returned
      // into a program's entry code has reached its end.
      return !stack.pcs.empty() && AtEntryPoint(pid, time_ns, stack.pcs.back()) ? UnwindStop::kEnd
                                                                                : UnwindStop::kMiss;
    case unwind::DwarfStop::kReadFault:
      return UnwindStop::kReadFault;
    case unwind::DwarfStop::kDepth:
      return UnwindStop::kDepth;
    case unwind::DwarfStop::kError:
      return UnwindStop::kBadFrame;
  }
  return UnwindStop::kMiss;
}

void Session::FinishDeferredWalk(const RingSample& s, std::vector<uint64_t>* pcs, uint32_t* flags) {
  using formats::UnwindStop;
  auto set_stop = [&](UnwindStop stop) {
    *flags = (*flags & ~formats::kSampleStopMask) |
             (static_cast<uint32_t>(stop) << formats::kSampleStopShift);
  };
  // The binaries this walk needed a table for (or will, further up):
  // built before the next samples come.
  auto want_tables = [&] {
    if (!unwind_) return;
    for (uint64_t pc : *pcs) {
      if (const formats::Mapping* m = tracker_.FindMapping(s.pid, s.time_ns, pc)) unwind_->Want(*m);
    }
  };
  auto it = stack_copies_.find(s.cpu);
  if (it == stack_copies_.end() || it->second.rec.time_ns != s.time_ns ||
      it->second.rec.tid != s.tid || pcs->empty() || it->second.rec.frame != pcs->size() - 1) {
    // The copy did not fit in the ring: the walk ends where BPF left it.
    ++loss_.deferred_copies_lost;
    set_stop(UnwindStop::kCopyLost);
    want_tables();
    return;
  }
  const StackCopy held = std::move(it->second);
  const RingUserStack& copy = held.rec;
  stack_copies_.erase(it);
  ++loss_.deferred_walks;
  unwind::UserRegs regs;
  if (copy.frame == 0 && copy.regs_valid) {
    static_assert(RP_USER_STACK_REGS <= PERF_REG_X86_64_MAX);
    std::copy(copy.regs.begin(), copy.regs.end(), regs.regs);
    regs.mask = unwind::kDwarfRegsMask;
  }
  // A caller frame's PC is a return address: its rule is the call's, at
  // pc - 1 (the call may be a function's last instruction).
  regs.regs[PERF_REG_X86_IP] = copy.frame == 0 ? copy.pc : copy.pc - 1;
  regs.regs[PERF_REG_X86_SP] = copy.sp;
  regs.regs[PERF_REG_X86_BP] = copy.fp;
  regs.mask |= (uint64_t{1} << PERF_REG_X86_IP) | (uint64_t{1} << PERF_REG_X86_SP) |
               (uint64_t{1} << PERF_REG_X86_BP);
  absl::StatusOr<unwind::DwarfStack> stack = DwarfWalk(s.pid, s.time_ns, regs, held.bytes, copy.sp);
  if (!stack.ok()) {
    set_stop(UnwindStop::kMiss);
    return;
  }
  // Its first PC is the frame the sample already has.
  for (size_t i = 1; i < stack->pcs.size() && pcs->size() < RP_MAX_STACK_DEPTH; ++i) {
    pcs->push_back(stack->pcs[i]);
  }
  want_tables();
  UnwindStop stop = DwarfStopOf(*stack, s.pid, s.time_ns);
  if (pcs->size() >= RP_MAX_STACK_DEPTH && stop != UnwindStop::kEnd) stop = UnwindStop::kDepth;
  if (stop == UnwindStop::kDepth) {
    *flags |= formats::kSampleUserTruncated;
    ++loss_.user_truncated;
  }
  *flags |= formats::kSampleUnwoundDwarf;
  set_stop(stop);
}

void Session::ResolveDwarfPending() {
  if (dwarf_pending_.empty()) return;
  for (const auto& [cpu, raw] : dwarf_pending_) {
    absl::StatusOr<PerfSample> ps = ParsePerfSample(raw, unwind::kDwarfRegsMask);
    if (!ps.ok()) {
      ++loss_.lost_perf_records;
      continue;
    }
    formats::Sample out;
    out.time_ns = ps->time_ns;
    out.pid = ps->pid;
    out.tid = ps->tid;
    out.period = ps->period;
    out.cpu = cpu;
    out.kernel_ips = ps->kernel_ips;
    // x86-64: kernel addresses are in the upper half.
    if (ps->ip >= 0xffff800000000000ull) out.flags |= formats::kSampleInKernel;
    if (ps->regs_abi != PERF_SAMPLE_REGS_ABI_NONE && ps->pid != 0) {
      absl::StatusOr<unwind::UserRegs> regs =
          unwind::UserRegsFromSample(ps->regs, unwind::kDwarfRegsMask);
      absl::StatusOr<unwind::DwarfStack> stack = absl::InternalError("no registers");
      if (regs.ok()) {
        stack = DwarfWalk(ps->pid, ps->time_ns, *regs, ps->stack, regs->regs[PERF_REG_X86_SP]);
      }
      if (!stack.ok()) {
        out.flags |= formats::kSampleUserStackFailed;
        ++loss_.user_stack_failed;
      } else {
        const formats::UnwindStop stop = DwarfStopOf(*stack, ps->pid, ps->time_ns);
        if (stop == formats::UnwindStop::kDepth) {
          out.flags |= formats::kSampleUserTruncated;
          ++loss_.user_truncated;
        }
        out.flags |= formats::kSampleUnwoundDwarf |
                     (static_cast<uint32_t>(stop) << formats::kSampleStopShift);
        AppendUserFrames(ps->pid, ps->time_ns, stack->pcs, &out);
      }
    }
    ready_.push_back(std::move(out));
  }
  dwarf_pending_.clear();
}

uint32_t Session::UserWalkFlags(const RingSample& s) const {
  uint32_t flags = 0;
  if (s.user_methods & RP_UNWOUND_SFRAME) flags |= formats::kSampleUnwoundSframe;
  if (s.user_methods & RP_UNWOUND_EHFRAME) flags |= formats::kSampleUnwoundEhFrame;
  if (s.user_methods & RP_UNWOUND_FP) flags |= formats::kSampleUnwoundFp;
  if (!tables() && s.n_user > 0) flags |= formats::kSampleUnwoundFp;  // bpf_get_stack
  flags |=
      (static_cast<uint32_t>(s.user_stop) << formats::kSampleStopShift) & formats::kSampleStopMask;
  return flags;
}

void Session::KeepExecStack(const RingSample& s) {
  if (child_ && s.pid == static_cast<uint32_t>(child_->pid()) && s.time_ns < child_exec_ns_) return;
  ExecStack es;
  es.pid = s.pid;
  es.time_ns = s.time_ns;
  es.pcs.assign(s.user_ips().begin(), s.user_ips().end());
  es.flags = UserWalkFlags(s);
  if (s.flags & RP_SAMPLE_USER_TRUNCATED) es.flags |= formats::kSampleUserTruncated;
  if (s.user_stop == RP_STOP_DEFERRED) {
    // Finished as a sample's walk would be, but it is no sample: the
    // counts of deferred walks and truncated stacks stay the samples'.
    const formats::LossStats before = loss_;
    FinishDeferredWalk(s, &es.pcs, &es.flags);
    loss_.deferred_walks = before.deferred_walks;
    loss_.deferred_copies_lost = before.deferred_copies_lost;
    loss_.user_truncated = before.user_truncated;
  }
  while (!es.pcs.empty() && es.pcs.back() == 0) es.pcs.pop_back();
  // A thread that exec'd long ago has no use for its entry; bounded by the
  // threads that called execve in the last seconds.
  if (exec_stacks_.size() >= 4096) {
    absl::erase_if(exec_stacks_, [&](const auto& kv) {
      return kv.second.time_ns + 10'000'000'000ull < s.time_ns;
    });
  }
  exec_stacks_[s.tid] = std::move(es);
}

void Session::ResolvePending() {
  ResolveDwarfPending();
  for (const auto& [offset, size] : pending_) {
    const absl::Span<const uint8_t> raw(pending_bytes_.data() + offset, size);
    if (RingRecordType(raw) == RP_RECORD_USER_STACK) {
      RingUserStack us;
      const RingRecordStatus decoded = DecodeRingUserStack(raw, &us);
      if (decoded != RingRecordStatus::kUserStack) {
        ++bad_ring_records_[static_cast<size_t>(decoded)];
        continue;
      }
      StackCopy& copy = stack_copies_[us.cpu];
      copy.bytes.assign(us.stack.begin(), us.stack.end());
      copy.rec = us;
      copy.rec.stack = copy.bytes;
      continue;
    }
    RingSample& s = ring_sample_;
    const RingRecordStatus decoded = DecodeRingRecord(raw, specs_.size(), &s);
    if (decoded != RingRecordStatus::kSample) {
      ++bad_ring_records_[static_cast<size_t>(decoded)];
      continue;
    }
    if (s.flags & RP_SAMPLE_EXEC_STACK) {  // no sample: counts nothing
      KeepExecStack(s);
      continue;
    }
    formats::Sample out;
    out.time_ns = s.time_ns;
    out.pid = s.pid;
    out.tid = s.tid;
    out.cpu = s.cpu;
    out.event_index = s.event_index;
    out.period = s.period;
    if (s.flags & RP_SAMPLE_IN_KERNEL) out.flags |= formats::kSampleInKernel;
    if (s.flags & RP_SAMPLE_KERNEL_TRUNCATED) {
      out.flags |= formats::kSampleKernelTruncated;
      ++loss_.kernel_truncated;
    }
    if (s.flags & RP_SAMPLE_USER_TRUNCATED) {
      out.flags |= formats::kSampleUserTruncated;
      ++loss_.user_truncated;
    }
    if (s.flags & RP_SAMPLE_USER_FAILED) {
      out.flags |= formats::kSampleUserStackFailed;
      ++loss_.user_stack_failed;
    }
    if (s.flags & RP_SAMPLE_KERNEL_FAILED) out.flags |= formats::kSampleKernelStackFailed;
    out.flags |= UserWalkFlags(s);
    const absl::Span<const uint64_t> kernel = s.kernel_ips();
    out.kernel_ips.assign(kernel.begin(), kernel.end());
    if (s.user_stop == RP_STOP_DEFERRED) {
      std::vector<uint64_t> pcs(s.user_ips().begin(), s.user_ips().end());
      FinishDeferredWalk(s, &pcs, &out.flags);
      AppendUserFrames(s.pid, s.time_ns, pcs, &out);
    } else {
      AppendUserFrames(s.pid, s.time_ns, s.user_ips(), &out);
    }
    const size_t nc = std::min<size_t>(s.n_counters, counter_totals_.size());
    for (size_t i = 0; i < nc; ++i) {
      // Scale for multiplexing: the counter ran `running` of the `enabled`
      // time since the task's previous sample.
      uint64_t v = s.counter_value(i);
      const uint64_t e = s.counter_enabled(i);
      const uint64_t r = s.counter_running(i);
      if (r > 0 && r < e) {
        v = static_cast<uint64_t>(static_cast<unsigned __int128>(v) * e / r);
      } else if (r == 0 && e > 0) {
        v = 0;  // not scheduled at all in this interval: nothing measured
      }
      out.counter_deltas.push_back(v);
      CounterTotal& t = counter_totals_[i];
      t.total += v;
      t.time_enabled_ns += e;
      t.time_running_ns += r;
    }
    ready_.push_back(std::move(out));
  }
  pending_.clear();
  pending_bytes_.clear();
}

absl::StatusOr<BpfSamplerStats> Session::RefreshLoss() {
  absl::StatusOr<BpfSamplerStats> st = sampler_->ReadStats();
  // Samples lost in the kernel: the BPF ring's, and in dwarf mode the perf
  // rings' (its samples go there).
  loss_.lost_samples = (st.ok() ? st->lost : 0) + perf_ring_lost_samples_;
  if (unwind_) {
    const UnwindTableStats& u = unwind_->stats();
    loss_.unwind_tables_loaded = u.tables_loaded;
    loss_.unwind_tables_evicted = u.tables_evicted;
    loss_.unwind_rows_evicted = u.rows_evicted;
    loss_.unwind_binaries_without_table = u.binaries_without_table;
    loss_.unwind_tables_too_big = u.tables_too_big;
  }
  loss_.bad_ring_records = 0;
  for (uint64_t n : bad_ring_records_) loss_.bad_ring_records += n;
  return st;
}

absl::Status Session::Flush(bool force) {
  uint64_t now = MonotonicNs();
  if (!force && now - last_flush_ns_ < kFlushNs && ready_.size() < kFlushSamples) {
    return absl::OkStatus();
  }
  last_flush_ns_ = now;
  std::vector<formats::Mapping> maps = tracker_.TakeNewMappings();
  if (!maps.empty()) RETURN_IF_ERROR(writer_->WriteMappings(maps));
  std::vector<formats::TaskEvent> tasks = tracker_.TakeNewTasks();
  if (!tasks.empty()) RETURN_IF_ERROR(writer_->WriteTasks(tasks));
  if (!ready_.empty()) {
    std::stable_sort(
        ready_.begin(), ready_.end(),
        [](const formats::Sample& a, const formats::Sample& b) { return a.time_ns < b.time_ns; });
    // The kernel symbols of these samples that no earlier chunk holds.
    if (std::string ks = kallsyms_.TakeNewSymbolsFor(ready_); !ks.empty()) {
      RETURN_IF_ERROR(writer_->WriteKallsyms(ks));
    }
    RETURN_IF_ERROR(writer_->WriteSamples(ready_));
    samples_written_ += ready_.size();
    ready_.clear();
  }
  // What was lost so far, each time it changes: a recorder that is killed
  // still says what it lost up to its last flush (the reader keeps the
  // last STATS chunk).
  (void)RefreshLoss();
  if (!stats_written_ || !(loss_ == *stats_written_)) {
    RETURN_IF_ERROR(writer_->WriteStats(loss_));
    stats_written_ = loss_;
  }
  return absl::OkStatus();
}

absl::Status Session::Validate() {
  int targets =
      (opt_.pids.empty() ? 0 : 1) + (opt_.system_wide ? 1 : 0) + (opt_.command.empty() ? 0 : 1);
  if (targets == 0) {
    return absl::InvalidArgumentError("nothing to profile: give a command after --, -p PID or -a");
  }
  if (targets > 1) {
    return absl::InvalidArgumentError("give only one of: a command, -p PID, -a");
  }
  if (opt_.frequency && opt_.period) return absl::InvalidArgumentError("give -F or -c, not both");
  if (opt_.frequency && *opt_.frequency == 0) return absl::InvalidArgumentError("-F must be > 0");
  if (opt_.period && *opt_.period == 0) return absl::InvalidArgumentError("-c must be > 0");
  if (!std::isfinite(opt_.duration_s) || opt_.duration_s < 0) {
    return absl::InvalidArgumentError("--duration must be a finite number of seconds > 0");
  }
  if (dwarf() && !opt_.counters.empty()) {
    return absl::InvalidArgumentError(
        "--counters are read by the BPF sample program, which --call-graph dwarf does not use; "
        "use --call-graph auto (or fp, sframe, ehframe) with --counters");
  }
  if (opt_.events.empty()) return absl::InvalidArgumentError("no sampling event given (-e)");
  if (dwarf() && opt_.events.size() > 1) {
    return absl::InvalidArgumentError(
        "--call-graph dwarf samples one event; give one -e, or use --call-graph auto (or fp, "
        "sframe, ehframe) to sample several");
  }
  if (opt_.dwarf_stack_bytes == 0 || opt_.dwarf_stack_bytes % 8 != 0 ||
      opt_.dwarf_stack_bytes > kMaxDwarfStackBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the dwarf stack size must be a multiple of 8 from 8 to ", kMaxDwarfStackBytes));
  }
  // Names as written; the same event twice would be two columns that
  // differ only by when each was read.
  auto parse_list = [](const std::vector<std::string>& names, const char* flag,
                       std::vector<EventSpec>* out) -> absl::Status {
    for (const std::string& n : names) {
      ASSIGN_OR_RETURN(EventSpec spec, ParseEventSpec(n));
      for (const EventSpec& other : *out) {
        if (other.name == spec.name ||
            (other.type == spec.type && other.config == spec.config &&
             other.config1 == spec.config1 && other.config2 == spec.config2 &&
             other.exclude_user == spec.exclude_user &&
             other.exclude_kernel == spec.exclude_kernel)) {
          return absl::InvalidArgumentError(absl::StrCat(flag, " names the same event twice ('",
                                                         other.name, "' and '", spec.name,
                                                         "'); give each once"));
        }
      }
      out->push_back(std::move(spec));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(parse_list(opt_.events, "-e", &specs_));
  RETURN_IF_ERROR(parse_list(opt_.counters, "--counters", &counter_specs_));
  if (specs_.size() > kMaxSamplingEvents) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxSamplingEvents, " sampling events, got ", specs_.size()));
  }
  if (counter_specs_.size() > RP_MAX_COUNTERS) {
    return absl::InvalidArgumentError(absl::StrCat("--counters takes at most ", RP_MAX_COUNTERS,
                                                   " events, got ", counter_specs_.size()));
  }
  for (const EventSpec& cs : counter_specs_) {
    counter_totals_.push_back(CounterTotal{cs.name, 0, 0, 0});
  }
  if (!opt_.command.empty()) RETURN_IF_ERROR(ResolveCommand(opt_.command[0]).status());
  for (pid_t p : opt_.pids) {
    RETURN_IF_ERROR(CheckProcessExists(p));
    // A thread id stands for its process: samples carry the process id.
    ASSIGN_OR_RETURN(pid_t tgid, ProcessOfThread(p));
    if (tgid != p && !opt_.quiet) {
      fprintf(stderr, "ringprof record: %d is a thread of process %d; profiling the process\n", p,
              tgid);
    }
    if (std::find(pids_.begin(), pids_.end(), tgid) == pids_.end()) pids_.push_back(tgid);
  }
  if (to_stdout()) {
    if (isatty(STDOUT_FILENO)) {
      return absl::InvalidArgumentError(
          "-o - writes the binary recording to standard output, which is a terminal; redirect "
          "it to a file or a pipe (ringprof record -o - ... | ringprof report -i -)");
    }
  } else {
    RETURN_IF_ERROR(ProbeWritable(opt_.output));
  }
  return absl::OkStatus();
}

absl::Status Session::SetUp() {
  // The command first, before this process holds any BPF object, perf
  // event or file of the recording: the parked child inherits none of them.
  if (!opt_.command.empty()) {
    ASSIGN_OR_RETURN(ChildProcess c, ChildProcess::Spawn(opt_.command, to_stdout()));
    child_.emplace(std::move(c));
  }
  BpfSamplerOptions bo;
  if (opt_.ring_mib != 0) {
    bo.ring_bytes = opt_.ring_mib << 20;
  } else {
    ASSIGN_OR_RETURN(std::vector<int> online, OnlineCpus());
    // -c gives a rate only for the time events (cpu-clock, task-clock:
    // one sample per `period` ns of CPU); for the others take 1 kHz per
    // event, which -F defaults to.
    uint64_t hz = opt_.frequency.value_or(999);
    if (opt_.period) {
      hz = 1000;
      for (const EventSpec& spec : specs_) {
        if (spec.unit == "nanoseconds" && *opt_.period > 0) {
          hz = std::max<uint64_t>(hz, 1'000'000'000 / *opt_.period);
        }
      }
    }
    bo.ring_bytes = static_cast<uint32_t>(
        RingBytesFor(static_cast<uint32_t>(online.size()), specs_.size(), hz));
  }
  bo.wakeup_bytes = bo.ring_bytes / 4;
  bo.n_counters = static_cast<uint32_t>(counter_specs_.size());
  int possible = libbpf_num_possible_cpus();
  if (possible <= 0) return ErrnoStatus(-possible, "counting possible CPUs");
  bo.n_cpus = static_cast<uint32_t>(possible);
  bo.self_timing = opt_.bpf_self_timing;
  // Stacks at execve entry, for samples later in that execve (BPF modes).
  bo.exec_stacks = !dwarf();
  bo.exec_filter = !opt_.system_wide;
  if (tables()) {
    bo.use_tables = true;
    const uint64_t rows = opt_.unwind_mem_bytes / sizeof(rp_unwind_row);
    if (rows < 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("--unwind-mem ", opt_.unwind_mem_bytes, " is too small; give at least 8K"));
    }
    bo.unwind_rows = static_cast<uint32_t>(std::min<uint64_t>(rows, 1u << 30));
  }
  ASSIGN_OR_RETURN(sampler_,
                   BpfSampler::Load(bo, [this](absl::Span<const uint8_t> b) { OnBpfRecord(b); }));
  {
    // Every mode stores the image for symbolizing [vdso] frames; table and
    // dwarf modes also unwind through it.
    absl::StatusOr<VdsoImage> vdso = VdsoImage::Capture();
    if (vdso.ok()) {
      vdso_.emplace(std::move(*vdso));
    } else {
      Warn(absl::StrCat(vdso.status().message(), "; [vdso] frames will not be symbolized",
                        tables() || dwarf() ? " and stacks through [vdso] end there" : ""));
    }
  }
  if (tables()) {
    unwind_ = std::make_unique<UnwindTables>(opt_.call_graph, sampler_.get(),
                                             [this](const std::string& m) { Warn(m); });
    if (vdso_) unwind_->SetVdsoPath(vdso_->path());
    // Samples wait in user space (pending_) while tables are built.
    unwind_->SetAfterBuild([this] { (void)sampler_->Drain(); });
    // Tables are built when a sample needs one (its walk was deferred):
    // -a does not build one for every binary mapped anywhere. They are
    // built on a thread of their own, so that the rings go on being
    // drained meanwhile (cc1plus's table takes ~170 ms).
    unwind_->SetLazy(true);
    if (absl::Status s = unwind_->StartWorker(); !s.ok()) {
      Warn(absl::StrCat(s.message(), "; tables are built in the main loop instead"));
    }
  }
  if (tables() || dwarf()) {
    epoll_ = ScopedFd(epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_.valid()) return LastErrnoStatus("creating an epoll set");
    epoll_event ev{};
    ev.events = EPOLLIN;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, sampler_->epoll_fd(), &ev) != 0) {
      return LastErrnoStatus("watching the BPF ring");
    }
    if (unwind_ && unwind_->ready_fd() >= 0 &&
        epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, unwind_->ready_fd(), &ev) != 0) {
      return LastErrnoStatus("watching the table-building thread");
    }
  }

  std::vector<pid_t> tids;
  const bool per_task = !opt_.system_wide;
  if (child_) {
    tids.push_back(child_->pid());
  } else if (!opt_.pids.empty()) {
    for (pid_t p : pids_) {
      ASSIGN_OR_RETURN(std::vector<pid_t> t, ListThreads(p));
      tids.insert(tids.end(), t.begin(), t.end());
    }
  } else {
    tids.push_back(-1);
  }
  RETURN_IF_ERROR(OpenCounters());
  absl::Status opened = OpenEvents(tids, per_task, child_.has_value());
  if (absl::IsNotFound(opened) && !pids_.empty()) {
    return absl::NotFoundError(absl::StrCat("process ", absl::StrJoin(pids_, ", "),
                                            " exited while ringprof was setting up; nothing was "
                                            "sampled"));
  }
  RETURN_IF_ERROR(opened);

  // Existing processes: their current mappings, now that the side-band
  // events are open and will report anything newer.
  if (!opt_.pids.empty()) {
    for (pid_t p : pids_) {
      absl::Status s = tracker_.SynthesizeFromProc(static_cast<uint32_t>(p));
      if (!s.ok()) Warn(std::string(s.message()));
    }
  } else if (opt_.system_wide) {
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      uint32_t pid = 0;
      if (absl::SimpleAtoi(entry.path().filename().string(), &pid) && pid > 0) {
        (void)tracker_.SynthesizeFromProc(pid);  // processes may exit meanwhile
      }
    }
  } else if (child_) {
    // Until its exec, the command is a copy of this recorder, waiting at
    // the gate: samples inside that exec still have the recorder's user
    // registers, and are named with these mappings. Its tables are not
    // built (nothing of it runs in user mode before the exec).
    (void)tracker_.SynthesizeFromProc(static_cast<uint32_t>(child_->pid()));
    (void)tracker_.TakeChangedPids();
  }
  UpdateUnwindTables();
  return absl::OkStatus();
}

absl::Status Session::WriteHeader() {
  // Created only now, so that a failure above leaves an existing file alone.
  if (to_stdout()) {
    ASSIGN_OR_RETURN(writer_, formats::RecordingWriter::CreateForFd(STDOUT_FILENO, "stdout"));
  } else {
    ASSIGN_OR_RETURN(writer_, formats::RecordingWriter::Create(opt_.output));
  }
  std::map<std::string, std::string> meta;
  meta["ringprof_version"] = "0.1.0";
  meta["start_realtime_ns"] = absl::StrCat(RealtimeNs());
  meta[formats::kKallsymsMetaKey] = formats::kKallsymsSubset;  // KALLSYMS: recorded frames only
  utsname u;
  if (uname(&u) == 0) {
    meta["hostname"] = u.nodename;
    meta["kernel"] = absl::StrCat(u.sysname, " ", u.release, " ", u.machine);
  }
  if (!opt_.command.empty()) {
    meta["target"] = "command";
    meta["command"] = absl::StrJoin(opt_.command, " ");
  } else if (!opt_.pids.empty()) {
    meta["target"] = absl::StrCat("pid ", absl::StrJoin(pids_, ","));
  } else {
    meta["target"] = "system-wide";
  }
  auto describe = [](const EventSpec& spec) {
    formats::EventDesc d;
    d.name = spec.name;
    d.type = spec.type;
    d.config = spec.config;
    d.unit = spec.unit;
    return d;
  };
  std::vector<formats::EventDesc> events;
  for (const EventSpec& spec : specs_) {
    formats::EventDesc ev = describe(spec);
    ev.freq = !opt_.period.has_value();
    ev.sample_freq_or_period = opt_.period ? *opt_.period : opt_.frequency.value_or(999);
    events.push_back(ev);
  }
  std::vector<formats::EventDesc> counter_descs;
  for (const EventSpec& cs : counter_specs_) counter_descs.push_back(describe(cs));
  start_ns_ = MonotonicNs();
  // META first, then the mappings and tasks known so far: a file cut
  // anywhere after its first chunk still says what it is and whose.
  RETURN_IF_ERROR(writer_->WriteMeta(meta, events, counter_descs, start_ns_));
  last_flush_ns_ = start_ns_;
  RETURN_IF_ERROR(Flush(true));
  // Which kernel: its build-id and modules. Its symbols follow at each
  // flush, those of the flushed kernel frames only (kallsyms=subset).
  RETURN_IF_ERROR(writer_->WriteKernel(
      ReadKernelInfo(kallsyms_.files(), [this](const std::string& m) { Warn(m); })));
  if (vdso_) RETURN_IF_ERROR(writer_->WriteImage("[vdso]", vdso_->bytes()));
  return absl::OkStatus();
}

absl::Status Session::Start() {
  if (child_ && unwind_) {
    // Tables for what the command maps first (its executable, the dynamic
    // loader, the C library), built now rather than after exec, so its
    // first samples do not fall back to frame pointers while they build.
    // Keyed by build-id: if the command uses another libc, it is simply
    // built when that one is mapped.
    absl::StatusOr<std::string> exe = ResolveCommand(opt_.command[0]);
    if (exe.ok()) unwind_->Preload(*exe);
    if (absl::StatusOr<std::string> self = ReadWholeFile("/proc/self/maps"); self.ok()) {
      for (absl::string_view line : absl::StrSplit(*self, '\n', absl::SkipEmpty())) {
        size_t slash = line.find('/');
        if (slash == absl::string_view::npos || line.find(" r-xp ") == absl::string_view::npos) {
          continue;
        }
        absl::string_view path = line.substr(slash);
        if (absl::StrContains(path, "/libc.so.") || absl::StrContains(path, "/ld-linux")) {
          unwind_->Preload(std::string(path));
        }
      }
    }
  }
  if (sampler_ && !dwarf()) {
    std::vector<uint32_t> roots;
    if (child_) roots.push_back(static_cast<uint32_t>(child_->pid()));
    for (pid_t p : pids_) roots.push_back(static_cast<uint32_t>(p));
    if (absl::Status s = sampler_->AttachExecStacks(roots); !s.ok()) {
      Warn(absl::StrCat(s.message(), "; samples inside execve keep only their leaf user frame"));
    }
  }
  if (child_) {
    if (absl::Status s = child_->Start(); !s.ok()) {
      writer_.reset();
      if (!to_stdout()) unlink(opt_.output.c_str());
      return absl::Status(s.code(), absl::StrCat(s.message(), " (", opt_.command[0], ")"));
    }
    child_exec_ns_ = MonotonicNs();  // Start returns once the exec is done
  } else {
    RETURN_IF_ERROR(StartSampling());
  }
  sampling_start_ns_ = MonotonicNs();
  return absl::OkStatus();
}

void Session::Loop() {
  // A --duration beyond what the clock can hold is no limit at all.
  const double limit_ns = opt_.duration_s * 1e9;
  const uint64_t deadline = opt_.duration_s > 0 && limit_ns < 1e18
                                ? sampling_start_ns_ + static_cast<uint64_t>(limit_ns)
                                : 0;
  while (true) {
    absl::Status s = Wait(100);
    if (!s.ok()) {
      record_error_ = s;
      break;
    }
    DrainSideband();
    UpdateUnwindTables();
    ResolvePending();
    if (absl::Status f = Flush(false); !f.ok()) {
      record_error_ = f;
      break;
    }
    if (opt_.stop != nullptr && opt_.stop->load()) {
      interrupted_ = true;
      break;
    }
    if (deadline != 0 && MonotonicNs() >= deadline) break;
    if (child_ && child_->PollExited()) break;
    if (!pids_.empty()) {
      bool any_alive = false;
      for (pid_t p : pids_) any_alive |= ProcessAlive(p);
      if (!any_alive) {
        processes_exited_ns_ = MonotonicNs();
        break;
      }
    }
  }
}

absl::StatusOr<RecordSummary> Session::Finish() {
  // Stop sampling, then collect everything still queued.
  sampler_->DetachAll();
  for (PerfEvent& e : events_) (void)e.Disable();
  bool terminated = false;
  if (child_ && !child_->exited()) {
    // Interrupted or out of time: end the command we started.
    child_->Terminate(interrupted_ ? 2000 : 500);
    terminated = true;
  }
  (void)sampler_->Drain();
  DrainSideband();
  ResolvePending();
  const uint64_t end_ns = MonotonicNs();

  absl::StatusOr<BpfSamplerStats> st = RefreshLoss();
  stats_written_ = loss_;  // the writer's Finish writes the final STATS
  if (!record_error_.ok()) {
    // Keep what was recorded: flush and finish, then report the error.
    (void)Flush(true);
    if (!counter_totals_.empty()) (void)writer_->WriteCounterScaling(CounterScalings());
    (void)writer_->Finish(loss_, end_ns);
    return record_error_;
  }
  RETURN_IF_ERROR(Flush(true));
  if (!counter_totals_.empty()) RETURN_IF_ERROR(writer_->WriteCounterScaling(CounterScalings()));
  RETURN_IF_ERROR(writer_->Finish(loss_, end_ns));

  RecordSummary sum;
  sum.samples = samples_written_;
  sum.mappings = tracker_.mapping_count();
  sum.seconds = static_cast<double>(end_ns - start_ns_) / 1e9;
  sum.loss = loss_;
  sum.bytes = writer_->bytes_written();
  sum.requested_hz = opt_.period ? 0 : opt_.frequency.value_or(999);
  sum.counters = counter_totals_;
  sum.counters_grouped = counters_grouped_;
  sum.call_graph = opt_.call_graph;
  sum.bad_ring_records = bad_ring_records_;
  if (unwind_) sum.unwind = unwind_->stats();
  if (opt_.bpf_self_timing) {
    absl::StatusOr<std::vector<uint64_t>> t = sampler_->ReadTiming();
    if (t.ok()) sum.bpf_timing = std::move(*t);
  }
  if (st.ok()) {
    sum.unwind_table_frames = st->unwind_table_frames;
    sum.unwind_fp_frames = st->unwind_fp_frames;
    sum.row_cache_hits = st->row_cache_hits;
  }
  if (child_) {
    sum.command_ran = true;
    sum.command_status = child_->wait_status();
    sum.command_cpu_seconds = child_->cpu_seconds();
    sum.command_terminated = terminated;
    sum.command_samples = samples_written_;
  }
  if (processes_exited_ns_ != 0) {
    sum.processes_exited = true;
    sum.processes_exited_after_s =
        static_cast<double>(processes_exited_ns_ -
                            std::min(processes_exited_ns_, sampling_start_ns_)) /
        1e9;
  }
  return sum;
}

absl::StatusOr<RecordSummary> Session::Run() {
  RETURN_IF_ERROR(Validate());
  RETURN_IF_ERROR(SetUp());
  RETURN_IF_ERROR(WriteHeader());
  RETURN_IF_ERROR(Start());
  Loop();
  return Finish();
}

}  // namespace

uint64_t RingBytesFor(uint32_t cpus, size_t events, uint64_t hz) {
  const double bytes = static_cast<double>(cpus) * static_cast<double>(events) *
                       static_cast<double>(hz) * 0.25 * 1024;
  uint64_t ring = uint64_t{1} << 20;
  while (static_cast<double>(ring) < bytes && ring < (uint64_t{256} << 20)) ring <<= 1;
  return ring;
}

absl::StatusOr<RecordSummary> Record(const RecordOptions& options) {
  Session session(options);
  return session.Run();
}

}  // namespace ringprof::collector
