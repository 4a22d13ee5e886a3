#include <getopt.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "collector/event_spec.h"
#include "collector/recorder.h"
#include "collector/ring_record.h"

namespace ringprof::cli {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

void PrintHelp() {
  std::printf(
      "usage: ringprof record [options] [-- CMD ARGS...]\n\n"
      "Samples a command, running processes (-p) or the whole system (-a) and\n"
      "writes a recording (default ringprof.rpf) that report, flamegraph and\n"
      "pprof read. Stacks: kernel, and user (up to 127 frames each). Needs\n"
      "CAP_BPF and CAP_PERFMON (root).\n\n"
      "options:\n"
      "  -e, --event EV[,EV]   sampling events (default cpu-clock); repeat -e or list\n"
      "                        several: each gets its own column in every report;\n"
      "                        modifiers :u :k :h :p (:p on hardware events only)\n"
      "  -F, --freq HZ|max     sample HZ times per second of each event (default 999;\n"
      "                        max: kernel.perf_event_max_sample_rate)\n"
      "  -c, --count PERIOD    sample every PERIOD events instead of -F (0x... for hex)\n"
      "      --counters EV,..  counters read at each sample (up to 8); each sample is\n"
      "                        charged its task's counts since its previous sample\n"
      "  -p, --pid PID[,PID]   profile existing processes (all their threads)\n"
      "  -a, --all-cpus        profile the whole system\n"
      "  -o, --output FILE     recording to write (default ringprof.rpf; mode 0600, as it\n"
      "                        holds kernel addresses); '-' writes it to standard output\n"
      "                        (the command's own output then goes to standard error)\n"
      "  -d, --duration SEC    stop after SEC seconds (a command is then sent SIGTERM)\n"
      "      --ring-mib N      BPF ring buffer size in MiB (default: room for a quarter\n"
      "                        second of samples at the rate asked, 1 MiB at least)\n"
      "  -g                    --call-graph auto (perf's -g: the default call graph)\n"
      "      --call-graph MODE how user stacks are walked (default auto):\n"
      "                          auto     tables from .sframe, else from .eh_frame,\n"
      "                                   frame pointers where neither has a row\n"
      "                          sframe   .sframe tables only, else frame pointers\n"
      "                          ehframe  .eh_frame tables only, else frame pointers\n"
      "                          fp       frame pointers only (the kernel's walk)\n"
      "                          dwarf    copy 16 KiB of stack per sample and unwind it\n"
      "                                   in user space with libunwind (slow; reference);\n"
      "                                   dwarf,SIZE copies SIZE bytes (8 to 65528)\n"
      "      --unwind-mem SIZE memory for unwind tables in BPF maps (default 32M;\n"
      "                        K/M/G suffixes); least recently used tables are\n"
      "                        evicted beyond it\n"
      "      --bpf-self-timing time every run of the BPF sample program and print\n"
      "                        the median, tail and mean, overall and for samples\n"
      "                        that interrupted user or kernel mode (a benchmark\n"
      "                        aid; costs one more clock read per sample)\n"
      "  -q, --quiet           no summary on stderr\n"
      "  -h, --help            this help\n\n"
      "events: %s;\n"
      "also perf's cache events (LLC-load-misses, ...), raw rNNNN, and libpfm4 PMU\n"
      "names (MEM_LOAD_RETIRED.L3_MISS); 'ringprof events' lists what works here\n\n"
      "Recording stops when the command or the -p processes exit, after\n"
      "--duration, or on SIGINT/SIGTERM; what was recorded is kept either way.\n"
      "With a command, ringprof exits with the command's status (128+N when a signal\n"
      "N ended it), 0 when ringprof ended it (--duration, SIGINT/SIGTERM), and 1 when\n"
      "recording failed. If ringprof is killed, the command is killed with it.\n",
      absl::StrJoin(collector::KnownEventNames(), ", ").c_str());
}

// "64M", "512K", "1G", "1048576".
absl::StatusOr<uint64_t> ParseByteSize(absl::string_view text) {
  const std::string given(text);
  uint64_t scale = 1;
  if (!text.empty()) {
    switch (absl::ascii_toupper(text.back())) {
      case 'K':
        scale = 1ull << 10;
        break;
      case 'M':
        scale = 1ull << 20;
        break;
      case 'G':
        scale = 1ull << 30;
        break;
      default:
        break;
    }
    if (scale != 1) text.remove_suffix(1);
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(text, &n) || n == 0) {
    return absl::InvalidArgumentError("give a size such as 64M, 512K or 1G");
  }
  if (n > (64ull << 30) / scale) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", given, "' is more than the limit of 64G; give at most 64G"));
  }
  return n * scale;
}

// A count in any base strtoull knows: decimal, 0x hex, 0 octal.
std::optional<uint64_t> ParseCount(const char* text) {
  if (text == nullptr || *text == '\0' || *text == '-' || *text == '+') return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 0);
  if (errno != 0 || end == text || *end != '\0') return std::nullopt;
  return static_cast<uint64_t>(v);
}

// -F max: the kernel's limit on sampling frequency.
absl::StatusOr<uint64_t> MaxSampleRate() {
  constexpr char kPath[] = "/proc/sys/kernel/perf_event_max_sample_rate";
  std::FILE* f = std::fopen(kPath, "re");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("-F max: cannot read ", kPath, ": ",
                                            std::strerror(errno), "; give a number instead"));
  }
  unsigned long long v = 0;
  const int n = std::fscanf(f, "%llu", &v);
  std::fclose(f);
  if (n != 1 || v == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("-F max: ", kPath, " holds no positive number; give a number instead"));
  }
  return v;
}

// --call-graph MODE[,SIZE] (SIZE only for dwarf, as perf has it).
absl::Status ParseCallGraph(absl::string_view arg, collector::RecordOptions* opt) {
  absl::string_view mode = arg;
  absl::string_view size;
  if (size_t comma = arg.find(','); comma != absl::string_view::npos) {
    mode = arg.substr(0, comma);
    size = arg.substr(comma + 1);
  }
  absl::StatusOr<collector::CallGraphMode> m = collector::ParseCallGraphMode(mode);
  if (!m.ok()) return m.status();
  opt->call_graph = *m;
  if (arg.find(',') != absl::string_view::npos) {
    if (*m != collector::CallGraphMode::kDwarf) {
      return absl::InvalidArgumentError(absl::StrCat("--call-graph ", arg,
                                                     ": only dwarf takes a "
                                                     "size (dwarf,SIZE)"));
    }
    std::optional<uint64_t> bytes = ParseCount(std::string(size).c_str());
    if (!bytes || *bytes == 0 || *bytes % 8 != 0 || *bytes > collector::kMaxDwarfStackBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("--call-graph ", arg, ": the stack size must be a multiple of 8 from 8 to ",
                       collector::kMaxDwarfStackBytes, " bytes"));
    }
    opt->dwarf_stack_bytes = static_cast<uint32_t>(*bytes);
  }
  return absl::OkStatus();
}

struct TimingFigures {
  uint64_t runs = 0;
  double mean = 0;
  std::string median, p90, p99;
};

// Percentiles of a self-timing histogram (RP_TIMING_BUCKETS counts) and the
// mean, from the runs' total ns.
TimingFigures Percentiles(const std::vector<uint64_t>& hist, uint64_t total_ns) {
  TimingFigures f;
  uint64_t total = 0;
  for (uint64_t n : hist) total += n;
  f.runs = total;
  if (total == 0) return f;
  f.mean = static_cast<double>(total_ns) / static_cast<double>(total);
  auto percentile = [&](double q) {
    const auto want = static_cast<uint64_t>(q * static_cast<double>(total));
    uint64_t seen = 0;
    for (size_t b = 0; b < hist.size(); ++b) {
      seen += hist[b];
      if (seen > want) {
        if (b + 1 == hist.size())
          return std::string(">= ") + std::to_string(b * RP_TIMING_BUCKET_NS);
        return std::to_string(b * RP_TIMING_BUCKET_NS + RP_TIMING_BUCKET_NS / 2);
      }
    }
    return std::string("?");
  };
  f.median = percentile(0.5);
  f.p90 = percentile(0.9);
  f.p99 = percentile(0.99);
  return f;
}

// The sample program's self-timing (sample_record.h's layout) as
// percentiles and means: all runs, then each kind of sample.
void PrintTiming(const std::vector<uint64_t>& t) {
  if (t.size() != RP_TIMING_KEYS) return;
  constexpr ptrdiff_t kBuckets = RP_TIMING_BUCKETS;
  const std::vector<uint64_t> user(t.begin(), t.begin() + kBuckets);
  const std::vector<uint64_t> kernel(t.begin() + kBuckets, t.begin() + 2 * kBuckets);
  const uint64_t user_ns = t[2 * size_t{RP_TIMING_BUCKETS}];
  const uint64_t kernel_ns = t[2 * size_t{RP_TIMING_BUCKETS} + 1];
  std::vector<uint64_t> all(RP_TIMING_BUCKETS);
  for (size_t i = 0; i < all.size(); ++i) all[i] = user[i] + kernel[i];
  const TimingFigures a = Percentiles(all, user_ns + kernel_ns);
  if (a.runs == 0) return;
  std::fprintf(stderr,
               "ringprof record: BPF sample program, self-timed over %llu runs: median %s ns, "
               "p90 %s ns, p99 %s ns, mean %.0f ns (%d ns buckets; from its clock read to the "
               "end of its ring output)\n",
               static_cast<unsigned long long>(a.runs), a.median.c_str(), a.p90.c_str(),
               a.p99.c_str(), a.mean, RP_TIMING_BUCKET_NS);
  const struct {
    const char* name;
    const std::vector<uint64_t>& hist;
    uint64_t ns;
  } kinds[] = {{"user", user, user_ns}, {"kernel", kernel, kernel_ns}};
  for (const auto& k : kinds) {
    const TimingFigures f = Percentiles(k.hist, k.ns);
    if (f.runs == 0) continue;
    std::fprintf(stderr,
                 "ringprof record:   samples that interrupted %s mode: %llu runs, median %s ns, "
                 "p90 %s ns, p99 %s ns, mean %.0f ns\n",
                 k.name, static_cast<unsigned long long>(f.runs), f.median.c_str(), f.p90.c_str(),
                 f.p99.c_str(), f.mean);
  }
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "ringprof record: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int RunRecord(int argc, char** argv) {
  collector::RecordOptions opt;
  static const option kLong[] = {{"event", required_argument, nullptr, 'e'},
                                 {"freq", required_argument, nullptr, 'F'},
                                 {"count", required_argument, nullptr, 'c'},
                                 {"pid", required_argument, nullptr, 'p'},
                                 {"all-cpus", no_argument, nullptr, 'a'},
                                 {"output", required_argument, nullptr, 'o'},
                                 {"duration", required_argument, nullptr, 'd'},
                                 {"ring-mib", required_argument, nullptr, 'R'},
                                 {"counters", required_argument, nullptr, 'C'},
                                 {"quiet", no_argument, nullptr, 'q'},
                                 {"call-graph", required_argument, nullptr, 'G'},
                                 {"unwind-mem", required_argument, nullptr, 'M'},
                                 {"bpf-self-timing", no_argument, nullptr, 'T'},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  optind = 1;
  int c;
  bool events_given = false;
  // '+': stop at the first non-option, so the command's own flags are its.
  while ((c = getopt_long(argc, argv, "+e:F:c:p:ao:d:gqh", kLong, nullptr)) != -1) {
    switch (c) {
      case 'e':
        // -e A -e B and -e A,B both sample A and B.
        if (!events_given) opt.events.clear();
        events_given = true;
        for (absl::string_view e : absl::StrSplit(optarg, ',')) {
          if (e.empty()) {
            return Fail(std::string("-e '") + optarg + "' has an empty event name");
          }
          opt.events.emplace_back(e);
        }
        break;
      case 'F': {
        if (std::string_view(optarg) == "max") {
          absl::StatusOr<uint64_t> max = MaxSampleRate();
          if (!max.ok()) return Fail(std::string(max.status().message()));
          opt.frequency = *max;
          break;
        }
        std::optional<uint64_t> v = ParseCount(optarg);
        if (!v || *v == 0) return Fail("-F needs a positive integer (Hz) or max");
        opt.frequency = *v;
        break;
      }
      case 'c': {
        std::optional<uint64_t> v = ParseCount(optarg);
        if (!v || *v == 0) {
          return Fail("-c needs a positive integer (decimal, or hex with 0x)");
        }
        opt.period = *v;
        break;
      }
      case 'g':
        opt.call_graph = collector::CallGraphMode::kAuto;
        break;
      case 'p':
        for (absl::string_view p : absl::StrSplit(optarg, ',', absl::SkipEmpty())) {
          int pid = 0;
          if (!absl::SimpleAtoi(p, &pid) || pid <= 0) {
            return Fail(std::string("-p needs process ids, got '") + optarg + "'");
          }
          opt.pids.push_back(pid);
        }
        break;
      case 'C':
        for (absl::string_view e : absl::StrSplit(optarg, ',', absl::SkipEmpty())) {
          opt.counters.emplace_back(e);
        }
        break;
      case 'a':
        opt.system_wide = true;
        break;
      case 'o':
        opt.output = optarg;
        break;
      case 'd':
        // Large values mean "no limit"; inf and nan are not numbers of
        // seconds.
        if (!absl::SimpleAtod(optarg, &opt.duration_s) || !std::isfinite(opt.duration_s) ||
            opt.duration_s <= 0) {
          return Fail("--duration needs a finite, positive number of seconds");
        }
        break;
      case 'R':
        if (!absl::SimpleAtoi(optarg, &opt.ring_mib) || opt.ring_mib == 0 ||
            (opt.ring_mib & (opt.ring_mib - 1)) != 0 || opt.ring_mib > 1024) {
          return Fail("--ring-mib needs a power of two from 1 to 1024");
        }
        break;
      case 'G':
        if (absl::Status st = ParseCallGraph(optarg, &opt); !st.ok()) {
          return Fail(std::string(st.message()));
        }
        break;
      case 'M': {
        absl::StatusOr<uint64_t> bytes = ParseByteSize(optarg);
        if (!bytes.ok()) return Fail(absl::StrCat("--unwind-mem: ", bytes.status().message()));
        opt.unwind_mem_bytes = *bytes;
        break;
      }
      case 'T':
        opt.bpf_self_timing = true;
        break;
      case 'q':
        opt.quiet = true;
        break;
      case 'h':
        PrintHelp();
        return 0;
      default:
        std::fprintf(stderr, "run 'ringprof record --help' for the options\n");
        return 2;
    }
  }
  for (int i = optind; i < argc; ++i) opt.command.emplace_back(argv[i]);

  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  opt.stop = &g_stop;

  absl::StatusOr<collector::RecordSummary> sum = collector::Record(opt);
  if (!sum.ok()) return Fail(std::string(sum.status().message()));
  if (!sum->bpf_timing.empty()) PrintTiming(sum->bpf_timing);
  if (!opt.quiet) {
    const auto& l = sum->loss;
    std::fprintf(stderr,
                 "ringprof record: %llu samples in %.2f s, %llu mappings, %.1f KiB written to %s\n",
                 static_cast<unsigned long long>(sum->samples), sum->seconds,
                 static_cast<unsigned long long>(sum->mappings), sum->bytes / 1024.0,
                 opt.output == "-" ? "standard output" : opt.output.c_str());
    std::fprintf(stderr,
                 "ringprof record: lost %llu samples (ring full), %llu side-band records; "
                 "%llu throttle events; truncated stacks: %llu kernel, %llu user; "
                 "%llu user stacks unreadable; %llu user frames outside known mappings\n",
                 static_cast<unsigned long long>(l.lost_samples),
                 static_cast<unsigned long long>(l.lost_perf_records),
                 static_cast<unsigned long long>(l.throttle_events),
                 static_cast<unsigned long long>(l.kernel_truncated),
                 static_cast<unsigned long long>(l.user_truncated),
                 static_cast<unsigned long long>(l.user_stack_failed),
                 static_cast<unsigned long long>(l.unmapped_user_frames));
    for (size_t k = 1; k < sum->bad_ring_records.size(); ++k) {
      if (sum->bad_ring_records[k] == 0) continue;
      std::fprintf(stderr, "ringprof record: warning: %llu BPF ring records dropped: %s\n",
                   static_cast<unsigned long long>(sum->bad_ring_records[k]),
                   collector::RingRecordStatusName(static_cast<collector::RingRecordStatus>(k)));
    }
    if (sum->call_graph != collector::CallGraphMode::kFp &&
        sum->call_graph != collector::CallGraphMode::kDwarf) {
      const collector::UnwindTableStats& u = sum->unwind;
      std::fprintf(
          stderr,
          "ringprof record: call-graph %s: %llu unwind tables loaded (%llu sframe, %llu "
          "eh_frame; peak %.1f KiB), %llu evicted (%llu rows), %llu binaries without a table, "
          "%llu over --unwind-mem; user frames: %llu from tables (%.0f%% of rows from the row "
          "cache), %llu from frame pointers\n",
          collector::CallGraphModeName(sum->call_graph),
          static_cast<unsigned long long>(u.tables_loaded),
          static_cast<unsigned long long>(u.sframe_tables),
          static_cast<unsigned long long>(u.ehframe_tables),
          u.peak_rows * sizeof(rp_unwind_row) / 1024.0,
          static_cast<unsigned long long>(u.tables_evicted),
          static_cast<unsigned long long>(u.rows_evicted),
          static_cast<unsigned long long>(u.binaries_without_table),
          static_cast<unsigned long long>(u.tables_too_big),
          static_cast<unsigned long long>(sum->unwind_table_frames),
          sum->unwind_table_frames > 0 ? 100.0 * static_cast<double>(sum->row_cache_hits) /
                                             static_cast<double>(sum->unwind_table_frames)
                                       : 0.0,
          static_cast<unsigned long long>(sum->unwind_fp_frames));
    }
    for (const auto& c : sum->counters) {
      std::fprintf(stderr, "ringprof record: counter %s: %llu charged to samples", c.name.c_str(),
                   static_cast<unsigned long long>(c.total));
      if (c.multiplexed()) {
        std::fprintf(stderr, " (multiplexed: counted %.0f%% of the time, values scaled)",
                     c.time_enabled_ns > 0 ? 100.0 * c.time_running_ns / c.time_enabled_ns : 0.0);
      }
      std::fprintf(stderr, "\n");
    }
    if (!sum->counters_grouped) {
      std::fprintf(stderr,
                   "ringprof record: warning: the counters do not fit the PMU as one group; they "
                   "were multiplexed separately, so ratios between them are estimates\n");
    }
    if (sum->command_ran) {
      int st = sum->command_status;
      if (WIFEXITED(st)) {
        std::fprintf(stderr, "ringprof record: command exited with status %d", WEXITSTATUS(st));
      } else if (WIFSIGNALED(st)) {
        std::fprintf(
            stderr, "ringprof record: command was %s by signal %d",
            sum->command_terminated ? "ended by ringprof (--duration or interrupt)" : "killed",
            WTERMSIG(st));
      }
      std::fprintf(stderr, " after %.3f s of CPU time", sum->command_cpu_seconds);
      if (sum->requested_hz > 0 && sum->command_cpu_seconds > 0.05 && opt.events.size() == 1 &&
          (opt.events[0] == "cpu-clock" || opt.events[0] == "task-clock")) {
        std::fprintf(stderr, "; %.0f samples per CPU-second (asked for %llu)",
                     sum->command_samples / sum->command_cpu_seconds,
                     static_cast<unsigned long long>(sum->requested_hz));
      }
      std::fprintf(stderr, "\n");
      if (sum->samples == 0) {
        std::fprintf(stderr,
                     "ringprof record: no samples: the command ran for less than one sampling "
                     "period\n");
      }
    }
    if (sum->processes_exited && sum->samples == 0) {
      std::fprintf(stderr,
                   "ringprof record: no samples: the process%s exited %.2f s after sampling "
                   "started\n",
                   opt.pids.size() > 1 ? "es" : "", sum->processes_exited_after_s);
    }
  }
  // The command's status, as perf reports it: its exit code, or 128+N for
  // a signal N, unless ringprof itself ended it.
  if (sum->command_ran && !sum->command_terminated) {
    const int st = sum->command_status;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  }
  return 0;
}

}  // namespace ringprof::cli
