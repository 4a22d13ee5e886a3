// Event names (generic, cache, raw, libpfm4, modifiers, suggestions) and the
// truthfulness of `ringprof events`: whatever it lists as supported opens,
// whatever it lists as unsupported does not.
//
// ctest also runs this binary with LIBPFM_FORCE_PMU=icl (prefix
// "libpfm_icl."), so PMU-specific names such as MEM_LOAD_RETIRED.L3_MISS are
// exercised on machines whose CPU libpfm4 does not know.
#include "collector/event_spec.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "collector/event_probe.h"
#include "gtest/gtest.h"
#include "tests/common/subprocess.h"

namespace ringprof::collector {
namespace {

using ringprof::testing::RunCommand;
using ringprof::testing::RunOptions;
using ringprof::testing::RunResult;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(EventSpecGeneric, HardwareAndSoftwareNames) {
  auto cycles = ParseEventSpec("cycles");
  ASSERT_TRUE(cycles.ok()) << cycles.status();
  EXPECT_EQ(cycles->type, PERF_TYPE_HARDWARE);
  EXPECT_EQ(cycles->config, PERF_COUNT_HW_CPU_CYCLES);
  EXPECT_EQ(cycles->source, "generic");
  EXPECT_EQ(cycles->unit, "count");
  EXPECT_FALSE(cycles->exclude_user);
  EXPECT_FALSE(cycles->exclude_kernel);

  auto alias = ParseEventSpec("cpu-cycles");
  ASSERT_TRUE(alias.ok());
  EXPECT_EQ(alias->config, PERF_COUNT_HW_CPU_CYCLES);
  EXPECT_EQ(alias->description, cycles->description);

  auto misses = ParseEventSpec("cache-misses");
  ASSERT_TRUE(misses.ok());
  EXPECT_EQ(misses->config, PERF_COUNT_HW_CACHE_MISSES);
  auto branch = ParseEventSpec("branch-misses");
  ASSERT_TRUE(branch.ok());
  EXPECT_EQ(branch->config, PERF_COUNT_HW_BRANCH_MISSES);

  auto faults = ParseEventSpec("page-faults");
  ASSERT_TRUE(faults.ok());
  EXPECT_EQ(faults->type, PERF_TYPE_SOFTWARE);
  EXPECT_EQ(faults->config, PERF_COUNT_SW_PAGE_FAULTS);
  EXPECT_EQ(faults->source, "software");
  auto clock = ParseEventSpec("task-clock");
  ASSERT_TRUE(clock.ok());
  EXPECT_EQ(clock->config, PERF_COUNT_SW_TASK_CLOCK);
  EXPECT_EQ(clock->unit, "nanoseconds");
  auto cs = ParseEventSpec("cs");
  ASSERT_TRUE(cs.ok());
  EXPECT_EQ(cs->config, PERF_COUNT_SW_CONTEXT_SWITCHES);

  for (const std::string& name : KnownEventNames()) {
    auto spec = ParseEventSpec(name);
    ASSERT_TRUE(spec.ok()) << name << ": " << spec.status();
    EXPECT_EQ(spec->name, name);
    EXPECT_FALSE(spec->description.empty()) << name;
  }
}

TEST(EventSpecGeneric, CacheNames) {
  struct Case {
    const char* name;
    uint64_t config;
  };
  const uint64_t kMiss = uint64_t{PERF_COUNT_HW_CACHE_RESULT_MISS} << 16;
  const uint64_t kWrite = uint64_t{PERF_COUNT_HW_CACHE_OP_WRITE} << 8;
  const uint64_t kPrefetch = uint64_t{PERF_COUNT_HW_CACHE_OP_PREFETCH} << 8;
  const Case cases[] = {
      {"LLC-load-misses", PERF_COUNT_HW_CACHE_LL | kMiss},
      {"LLC-loads", PERF_COUNT_HW_CACHE_LL},
      {"L1-dcache-load-misses", PERF_COUNT_HW_CACHE_L1D | kMiss},
      {"L1-dcache-loads", PERF_COUNT_HW_CACHE_L1D},
      {"dTLB-load-misses", PERF_COUNT_HW_CACHE_DTLB | kMiss},
      {"L1-dcache-stores", PERF_COUNT_HW_CACHE_L1D | kWrite},
      {"L1-icache-load-misses", PERF_COUNT_HW_CACHE_L1I | kMiss},
      {"LLC-prefetches", PERF_COUNT_HW_CACHE_LL | kPrefetch},
      {"iTLB-load-misses", PERF_COUNT_HW_CACHE_ITLB | kMiss},
      {"branch-loads", PERF_COUNT_HW_CACHE_BPU},
      {"node-store-misses", PERF_COUNT_HW_CACHE_NODE | kWrite | kMiss},
  };
  for (const Case& c : cases) {
    auto spec = ParseEventSpec(c.name);
    ASSERT_TRUE(spec.ok()) << c.name << ": " << spec.status();
    EXPECT_EQ(spec->type, PERF_TYPE_HW_CACHE) << c.name;
    EXPECT_EQ(spec->config, c.config) << c.name;
    EXPECT_EQ(spec->source, "cache") << c.name;
  }
  std::vector<std::string> all = CacheEventNames();
  EXPECT_EQ(all.size(), 7u * 3u * 2u);
  for (const std::string& name : all) {
    auto spec = ParseEventSpec(name);
    ASSERT_TRUE(spec.ok()) << name;
    EXPECT_EQ(spec->type, PERF_TYPE_HW_CACHE);
  }
}

TEST(EventSpecGeneric, RawEvents) {
  auto raw = ParseEventSpec("r01a2");
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(raw->type, PERF_TYPE_RAW);
  EXPECT_EQ(raw->config, 0x1a2u);
  EXPECT_EQ(raw->source, "raw");
  auto upper = ParseEventSpec("rC0:u");
  ASSERT_TRUE(upper.ok()) << upper.status();
  EXPECT_EQ(upper->config, 0xc0u);
  EXPECT_FALSE(upper->exclude_user);
  EXPECT_TRUE(upper->exclude_kernel);
  auto wide = ParseEventSpec("r1234567890abcdef");
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(wide->config, 0x1234567890abcdefu);
  // Not hex, too long, or empty: not raw, and no other table knows them.
  EXPECT_FALSE(ParseEventSpec("r01g2").ok());
  EXPECT_FALSE(ParseEventSpec("r1234567890abcdef0").ok());
  EXPECT_FALSE(ParseEventSpec("r").ok());
  EXPECT_FALSE(ParseEventSpec("").ok());
}

TEST(EventSpecGeneric, Modifiers) {
  auto u = ParseEventSpec("cycles:u");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->exclude_user);
  EXPECT_TRUE(u->exclude_kernel);
  EXPECT_TRUE(u->exclude_hv);
  EXPECT_EQ(u->name, "cycles:u");
  auto k = ParseEventSpec("page-faults:k");
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(k->exclude_user);
  EXPECT_FALSE(k->exclude_kernel);
  auto uk = ParseEventSpec("LLC-load-misses:uk");
  ASSERT_TRUE(uk.ok());
  EXPECT_FALSE(uk->exclude_user);
  EXPECT_FALSE(uk->exclude_kernel);
  auto pp = ParseEventSpec("instructions:upp");
  ASSERT_TRUE(pp.ok());
  EXPECT_EQ(pp->precise_ip, 2);
  EXPECT_TRUE(pp->exclude_kernel);

  auto bad = ParseEventSpec("cpu-clock:x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(Message(bad.status()).find("modifier"), std::string::npos) << bad.status();
  EXPECT_FALSE(ParseEventSpec("cycles:pppp").ok());
}

TEST(EventSpecGeneric, ApplyCopiesEveryField) {
  EventSpec spec;
  spec.type = PERF_TYPE_RAW;
  spec.config = 0x1a2;
  spec.config1 = 0x3f;
  spec.config2 = 0x7;
  spec.exclude_user = true;
  spec.exclude_hv = true;
  spec.exclude_guest = true;
  spec.precise_ip = 3;
  spec.pinned = true;
  perf_event_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.sample_period = 1234;
  ApplyEventSpec(spec, &attr);
  EXPECT_EQ(attr.type, static_cast<uint32_t>(PERF_TYPE_RAW));
  EXPECT_EQ(attr.config, 0x1a2u);
  EXPECT_EQ(attr.config1, 0x3fu);
  EXPECT_EQ(attr.config2, 0x7u);
  EXPECT_EQ(attr.exclude_user, 1u);
  EXPECT_EQ(attr.exclude_kernel, 0u);
  EXPECT_EQ(attr.exclude_hv, 1u);
  EXPECT_EQ(attr.exclude_guest, 1u);
  EXPECT_EQ(attr.exclude_host, 0u);
  EXPECT_EQ(attr.precise_ip, 3u);
  EXPECT_EQ(attr.pinned, 1u);
  EXPECT_EQ(attr.exclusive, 0u);
  EXPECT_EQ(attr.sample_period, 1234u);  // sampling is the caller's
}

// The first event (with its first unit mask if it has no default) of a
// present libpfm4 PMU that libpfm4 encodes; CPU PMUs before perf's tables.
std::string EncodableLibpfm4Name(bool cpu_pmu_only) {
  auto pmus = Libpfm4PresentPmus();
  if (!pmus.ok()) return "";
  for (bool os_generic : {false, true}) {
    if (os_generic && cpu_pmu_only) break;
    for (const Libpfm4Pmu& pmu : **pmus) {
      if (pmu.os_generic != os_generic) continue;
      for (const Libpfm4Event& e : pmu.events) {
        std::string name = pmu.name + "::" + e.name;
        if (ParseEventSpec(name).ok()) return name;
        if (!e.umasks.empty() && ParseEventSpec(name + ":" + e.umasks[0].name).ok()) {
          return name + ":" + e.umasks[0].name;
        }
      }
    }
  }
  return "";
}

TEST(EventSpecLibpfm4, EncodesAPresentPmuEvent) {
  std::string name = EncodableLibpfm4Name(false);
  if (name.empty()) GTEST_SKIP() << "libpfm4 encodes no event of a present PMU here";
  auto spec = ParseEventSpec(name);
  ASSERT_TRUE(spec.ok()) << spec.status();
  std::string pmu = name.substr(0, name.find("::"));
  EXPECT_EQ(spec->pmu, pmu);
  EXPECT_EQ(spec->source, "libpfm4 " + pmu);
  EXPECT_FALSE(spec->description.empty());
  // Default privilege levels are user and kernel.
  EXPECT_FALSE(spec->exclude_user);
  EXPECT_FALSE(spec->exclude_kernel);

  // Perf-style modifiers are mapped by ringprof, not by libpfm4.
  auto user = ParseEventSpec(name + ":u");
  ASSERT_TRUE(user.ok()) << user.status();
  EXPECT_EQ(user->type, spec->type);
  EXPECT_EQ(user->config, spec->config);
  EXPECT_FALSE(user->exclude_user);
  EXPECT_TRUE(user->exclude_kernel);
  auto kernel = ParseEventSpec(name + ":k");
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  EXPECT_TRUE(kernel->exclude_user);
  EXPECT_FALSE(kernel->exclude_kernel);
  // libpfm4's own attribute syntax passes through.
  auto no_user = ParseEventSpec(name + ":u=0:k=1");
  ASSERT_TRUE(no_user.ok()) << no_user.status();
  EXPECT_TRUE(no_user->exclude_user);
  EXPECT_FALSE(no_user->exclude_kernel);
}

TEST(EventSpecLibpfm4, PerfTableMatchesGenericEncoding) {
  auto pmus = Libpfm4PresentPmus();
  ASSERT_TRUE(pmus.ok()) << pmus.status();
  bool has_perf = false;
  for (const Libpfm4Pmu& p : **pmus) has_perf = has_perf || p.name == "perf";
  if (!has_perf) GTEST_SKIP() << "libpfm4's 'perf' table is not active (a PMU is forced)";
  auto faults = ParseEventSpec("perf::PERF_COUNT_SW_PAGE_FAULTS");
  ASSERT_TRUE(faults.ok()) << faults.status();
  EXPECT_EQ(faults->type, PERF_TYPE_SOFTWARE);
  EXPECT_EQ(faults->config, PERF_COUNT_SW_PAGE_FAULTS);
  EXPECT_EQ(faults->source, "libpfm4 perf");
  auto clock = ParseEventSpec("perf::PERF_COUNT_SW_CPU_CLOCK:u");
  ASSERT_TRUE(clock.ok()) << clock.status();
  EXPECT_EQ(clock->config, PERF_COUNT_SW_CPU_CLOCK);
  EXPECT_EQ(clock->unit, "nanoseconds");
  EXPECT_TRUE(clock->exclude_kernel);
}

TEST(EventSpecLibpfm4, PmuSpecificNameWhenThePmuIsPresent) {
  auto pmus = Libpfm4PresentPmus();
  ASSERT_TRUE(pmus.ok()) << pmus.status();
  std::string pmu;
  for (const Libpfm4Pmu& p : **pmus) {
    for (const Libpfm4Event& e : p.events) {
      if (e.name != "MEM_LOAD_RETIRED") continue;
      for (const Libpfm4Umask& u : e.umasks) {
        if (u.name == "L3_MISS") pmu = p.name;
      }
    }
  }
  if (pmu.empty()) GTEST_SKIP() << "no present libpfm4 PMU has MEM_LOAD_RETIRED.L3_MISS";
  auto dotted = ParseEventSpec("MEM_LOAD_RETIRED.L3_MISS");
  ASSERT_TRUE(dotted.ok()) << dotted.status();
  auto qualified = ParseEventSpec(pmu + "::MEM_LOAD_RETIRED:L3_MISS:u");
  ASSERT_TRUE(qualified.ok()) << qualified.status();
  EXPECT_EQ(dotted->type, qualified->type);
  EXPECT_EQ(dotted->config, qualified->config);
  EXPECT_NE(dotted->config, 0u);
  EXPECT_EQ(dotted->pmu, pmu);
  EXPECT_TRUE(qualified->exclude_kernel);
  EXPECT_FALSE(dotted->exclude_kernel);

  auto misspelt = ParseEventSpec("MEM_LOAD_RETIRED.L3_MIS");
  ASSERT_FALSE(misspelt.ok());
  EXPECT_EQ(misspelt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(Message(misspelt.status()).find("did you mean MEM_LOAD_RETIRED.L3_MISS"),
            std::string::npos)
      << misspelt.status();
}

TEST(EventSpecUnknown, SuggestsNearestNames) {
  auto faults = ParseEventSpec("page-fualts");
  ASSERT_FALSE(faults.ok());
  EXPECT_EQ(faults.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(Message(faults.status()).find("unknown event 'page-fualts'; did you mean page-faults"),
            std::string::npos)
      << faults.status();
  auto with_mod = ParseEventSpec("page-fualts:u");
  ASSERT_FALSE(with_mod.ok());
  EXPECT_NE(Message(with_mod.status()).find("page-faults"), std::string::npos);
  auto cache = ParseEventSpec("LLC-load-mises");
  ASSERT_FALSE(cache.ok());
  EXPECT_NE(Message(cache.status()).find("did you mean LLC-load-misses"), std::string::npos)
      << cache.status();
  auto insn = ParseEventSpec("instrucions");
  ASSERT_FALSE(insn.ok());
  EXPECT_NE(Message(insn.status()).find("did you mean instructions"), std::string::npos)
      << insn.status();
}

// The kernel's core PMU, found independently of the code under test.
bool KernelHasCorePmu() {
  std::error_code ec;
  for (const auto& d : std::filesystem::directory_iterator("/sys/bus/event_source/devices", ec)) {
    std::ifstream in(d.path() / "type");
    int type = -1;
    if (in >> type && type == PERF_TYPE_RAW) return true;
  }
  return false;
}

// Opens the event with its attr built field by field here, on CPU 0 for all
// tasks (the profiler's way as root).
int OpenAsRoot(const EventSpec& s) {
  perf_event_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.size = sizeof(attr);
  attr.type = s.type;
  attr.config = s.config;
  attr.config1 = s.config1;
  attr.config2 = s.config2;
  attr.exclude_user = s.exclude_user;
  attr.exclude_kernel = s.exclude_kernel;
  attr.exclude_hv = s.exclude_hv;
  attr.exclude_host = s.exclude_host;
  attr.exclude_guest = s.exclude_guest;
  attr.precise_ip = s.precise_ip;
  attr.exclusive = s.exclusive;
  attr.pinned = s.pinned;
  attr.disabled = 1;
  int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

TEST(EventProbe, UnsupportedHardwareEventSaysSoAndNamesWorkingEvents) {
  auto cycles = ParseEventSpec("cycles");
  ASSERT_TRUE(cycles.ok());
  absl::Status s = ProbeEvent(*cycles);
  if (geteuid() != 0) GTEST_SKIP() << "needs root to open counting events on CPU 0";
  if (OpenAsRoot(*cycles) == 0) {
    EXPECT_TRUE(s.ok()) << s;
    GTEST_SKIP() << "this machine counts cycles; the unsupported path is not reachable here";
  }
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << s;
  EXPECT_NE(Message(s).find("event 'cycles' is not supported on this machine ("), std::string::npos)
      << s;
  EXPECT_NE(Message(s).find("events that work here include: cpu-clock"), std::string::npos) << s;
  if (!KernelHasCorePmu()) {
    EXPECT_NE(Message(s).find("no hardware PMU is available to this kernel"), std::string::npos)
        << s;
  }
  auto clock = ParseEventSpec("cpu-clock");
  ASSERT_TRUE(clock.ok());
  EXPECT_TRUE(ProbeEvent(*clock).ok());
}

void ExpectListingIsTruthful(bool all) {
  auto events = ListEvents(all);
  ASSERT_TRUE(events.ok()) << events.status();
  size_t supported = 0;
  bool cpu_clock = false;
  bool cycles_listed = false;
  for (const EventAvailability& e : *events) {
    auto spec = ParseEventSpec(e.name);
    if (e.supported) {
      ++supported;
      ASSERT_TRUE(spec.ok()) << e.name << " is listed as supported but does not parse";
      EXPECT_EQ(OpenAsRoot(*spec), 0) << e.name << " is listed as supported but fails to open";
      EXPECT_TRUE(e.reason.empty()) << e.name;
    } else {
      EXPECT_FALSE(e.reason.empty()) << e.name;
      if (spec.ok()) {
        EXPECT_NE(OpenAsRoot(*spec), 0) << e.name << " is listed as unsupported but opens";
      }
    }
    if (e.name == "cpu-clock") cpu_clock = e.supported;
    if (e.name == "cycles") cycles_listed = true;
  }
  EXPECT_TRUE(cpu_clock) << "cpu-clock is a software event and opens on every Linux";
  EXPECT_TRUE(cycles_listed);
  EXPECT_GE(supported, 5u);
}

TEST(EventProbe, ListingIsTruthful) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the listing opens events on CPU 0";
  ExpectListingIsTruthful(false);
}

TEST(EventProbe, FullListingIsTruthful) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the listing opens events on CPU 0";
  ExpectListingIsTruthful(true);
}

TEST(EventProbe, ListsEveryCpuPmuEventAndFiltersByPmu) {
  auto pmus = Libpfm4PresentPmus();
  ASSERT_TRUE(pmus.ok());
  const Libpfm4Pmu* cpu = nullptr;
  for (const Libpfm4Pmu& p : **pmus) {
    if (!p.os_generic && cpu == nullptr) cpu = &p;
  }
  if (cpu == nullptr) GTEST_SKIP() << "libpfm4 reports no CPU PMU here";
  ListEventsOptions options;
  options.only = cpu->name;
  auto events = ListEvents(options);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(events->size(), cpu->events.size());
  for (const EventAvailability& e : *events) {
    EXPECT_EQ(e.pmu, cpu->name) << e.name;
    EXPECT_EQ(e.group, "libpfm4");
  }
  options.only = "no-such-pmu";
  EXPECT_EQ(ListEvents(options).status().code(), absl::StatusCode::kNotFound);
}

TEST(EventProbe, DescribesPmus) {
  PmuSummary s = DescribePmus();
  EXPECT_EQ(s.kernel_core_pmu.empty(), !KernelHasCorePmu());
  if (s.kernel_core_pmu.empty()) {
    ASSERT_FALSE(s.notes.empty());
    EXPECT_NE(s.notes.back().find("hardware events cannot be counted here"), std::string::npos);
  }
}

// The event lines of a listing: "  NAME  supported|not supported  ...".
std::vector<std::pair<std::string, bool>> ListedEvents(const std::string& out) {
  std::vector<std::pair<std::string, bool>> events;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    std::string line = out.substr(start, end - start);
    start = end + 1;
    if (line.rfind("  ", 0) != 0) continue;
    size_t name_end = line.find(' ', 2);
    if (name_end == std::string::npos) continue;
    size_t status = line.find_first_not_of(' ', name_end);
    if (status == std::string::npos) continue;
    std::string name = line.substr(2, name_end - 2);
    if (line.compare(status, 14, "not supported ") == 0) {
      events.emplace_back(name, false);
    } else if (line.compare(status, 10, "supported ") == 0) {
      events.emplace_back(name, true);
    }
  }
  return events;
}

TEST(EventsCommand, ListsCpuClockAsSupported) {
  RunResult r = RunCommand({RINGPROF_BIN, "events"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string out = r.out;
  EXPECT_EQ(out.rfind("PMUs: libpfm4 reports ", 0), 0u) << out;
  if (geteuid() != 0)
    GTEST_SKIP() << "unprivileged: kernel.perf_event_paranoid may forbid counting";
  auto listed = ListedEvents(out);
  bool cpu_clock = false;
  bool cycles = false;
  for (const auto& [name, supported] : listed) {
    if (name == "cpu-clock") cpu_clock = supported;
    if (name == "cycles") cycles = true;
  }
  EXPECT_TRUE(cpu_clock) << out;
  EXPECT_TRUE(cycles) << out;
  EXPECT_NE(out.find("software events"), std::string::npos);
  EXPECT_NE(out.find("generic cache events"), std::string::npos);

  r = RunCommand({RINGPROF_BIN, "events", "--unsupported", "--pmu", "software"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const auto& [name, supported] : ListedEvents(r.out)) EXPECT_FALSE(supported) << name;
  r = RunCommand({RINGPROF_BIN, "events", "--supported"});
  ASSERT_EQ(r.status, 0) << r.err;
  listed = ListedEvents(r.out);
  EXPECT_FALSE(listed.empty());
  for (const auto& [name, supported] : listed) EXPECT_TRUE(supported) << name;
  r = RunCommand({RINGPROF_BIN, "events", "--help"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("usage: ringprof events"), std::string::npos);
}

TEST(EventsCommand, BadInputFailsWithOneLine) {
  RunResult r = RunCommand({RINGPROF_BIN, "events", "--pmu", "no-such-pmu"});
  EXPECT_NE(r.status, 0);
  const std::string out = r.out + r.err;
  EXPECT_EQ(out.rfind("ringprof events: ", 0), 0u) << out;
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;
  EXPECT_NE(RunCommand({RINGPROF_BIN, "events", "--supported", "--unsupported"}).status, 0);
}

TEST(EventsCommand, NotesAForcedPmuTheKernelDoesNotExpose) {
  if (KernelHasCorePmu()) GTEST_SKIP() << "the kernel exposes a hardware PMU here";
  RunOptions force_icl;
  force_icl.env = {"LIBPFM_FORCE_PMU=icl"};
  RunResult r = RunCommand({RINGPROF_BIN, "events", "--pmu", "icl"}, force_icl);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string& out = r.out;
  EXPECT_NE(out.find("note: libpfm4 reports PMU icl (forced by LIBPFM_FORCE_PMU), but the kernel "
                     "exposes no hardware PMU: hardware events cannot be counted here"),
            std::string::npos)
      << out;
  auto listed = ListedEvents(out);
  EXPECT_FALSE(listed.empty()) << out;
  bool mem_load_retired = false;
  for (const auto& [name, supported] : listed) {
    EXPECT_FALSE(supported) << name << " cannot open without a kernel hardware PMU";
    mem_load_retired = mem_load_retired || name.rfind("icl::MEM_LOAD_RETIRED", 0) == 0;
  }
  EXPECT_TRUE(mem_load_retired) << out;
}

}  // namespace
}  // namespace ringprof::collector
