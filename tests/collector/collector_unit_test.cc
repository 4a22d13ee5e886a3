// Unprivileged tests of the collector's pure parts: event names, the perf
// side-band record parser, and the process-map tracker.
#include <linux/perf_event.h>
#include <sys/mman.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "collector/event_spec.h"
#include "collector/process_maps.h"
#include "collector/sideband.h"
#include "collector/tracefs.h"
#include "gtest/gtest.h"

namespace ringprof::collector {
namespace {

// Tracepoint ids from a tracefs tree: a real id, a missing tracepoint
// (NotFound, naming it), and a file that holds no number.
TEST(Tracefs, TracepointIdsAndTheirErrors) {
  const std::string dir = testing::TempDir() + "/tracefs-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/events/syscalls/sys_enter_execve");
  std::filesystem::create_directories(dir + "/events/syscalls/garbled");
  std::ofstream(dir + "/events/syscalls/sys_enter_execve/id") << "812\n";
  std::ofstream(dir + "/events/syscalls/garbled/id") << "eight\n";
  absl::StatusOr<uint64_t> id = TracepointIdIn(dir, "syscalls", "sys_enter_execve");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, 812u);
  absl::StatusOr<uint64_t> none = TracepointIdIn(dir, "syscalls", "sys_enter_nosuch");
  EXPECT_TRUE(absl::IsNotFound(none.status())) << none.status();
  EXPECT_NE(std::string(none.status().message()).find("syscalls:sys_enter_nosuch"),
            std::string::npos)
      << none.status();
  EXPECT_TRUE(absl::IsDataLoss(TracepointIdIn(dir, "syscalls", "garbled").status()));
  std::filesystem::remove_all(dir);
}

// The live kernel's, where tracefs is there or can be mounted (root).
TEST(Tracefs, LiveExecveTracepoint) {
  absl::StatusOr<std::string> dir = TracefsDir();
  if (!dir.ok()) GTEST_SKIP() << dir.status();
  absl::StatusOr<uint64_t> id = TracepointIdIn(*dir, "syscalls", "sys_enter_execve");
  if (absl::IsNotFound(id.status())) GTEST_SKIP() << id.status();  // no CONFIG_FTRACE_SYSCALLS
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_GT(*id, 0u);
}

TEST(EventSpec, KnownNamesAndModifiers) {
  auto e = ParseEventSpec("page-faults:u");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->type, PERF_TYPE_SOFTWARE);
  EXPECT_EQ(e->config, PERF_COUNT_SW_PAGE_FAULTS);
  EXPECT_FALSE(e->exclude_user);
  EXPECT_TRUE(e->exclude_kernel);
  EXPECT_EQ(e->unit, "count");
  auto c = ParseEventSpec("cpu-clock");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->unit, "nanoseconds");
  auto h = ParseEventSpec("cycles:k");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->type, PERF_TYPE_HARDWARE);
  EXPECT_TRUE(h->exclude_user);
}

TEST(EventSpec, UnknownNameSuggestsNearest) {
  auto e = ParseEventSpec("page-fualts");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(std::string(e.status().message()).find("page-faults"), std::string::npos) << e.status();
  auto m = ParseEventSpec("cpu-clock:x");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(std::string(m.status().message()).find("modifier"), std::string::npos);
}

// Builds a perf record: header + body + sample_id trailer {pid, tid, time}.
std::vector<uint8_t> Record(uint32_t type, uint16_t misc, const std::vector<uint8_t>& body,
                            uint32_t pid, uint32_t tid, uint64_t time) {
  std::vector<uint8_t> out(sizeof(perf_event_header) + body.size());
  if (!body.empty()) std::memcpy(out.data() + sizeof(perf_event_header), body.data(), body.size());
  auto put = [&](const void* p, size_t n) {
    size_t at = out.size();
    out.resize(at + n);
    std::memcpy(out.data() + at, p, n);
  };
  put(&pid, 4);
  put(&tid, 4);
  put(&time, 8);
  perf_event_header h{type, misc, static_cast<uint16_t>(out.size())};
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

template <typename T>
void Put(std::vector<uint8_t>& v, T x) {
  size_t at = v.size();
  v.resize(at + sizeof(T));
  std::memcpy(v.data() + at, &x, sizeof(T));
}

std::vector<uint8_t> Mmap2Body(uint32_t pid, uint64_t addr, uint64_t len, uint64_t pgoff,
                               const std::string& build_id, const std::string& name) {
  std::vector<uint8_t> b;
  Put(b, pid);
  Put(b, pid);
  Put(b, addr);
  Put(b, len);
  Put(b, pgoff);
  uint8_t ids[24] = {};
  ids[0] = static_cast<uint8_t>(build_id.size());
  std::memcpy(ids + 4, build_id.data(), build_id.size());
  for (uint8_t byte : ids) b.push_back(byte);
  Put(b, static_cast<uint32_t>(PROT_READ | PROT_EXEC));
  Put(b, static_cast<uint32_t>(MAP_PRIVATE));
  for (char ch : name) b.push_back(static_cast<uint8_t>(ch));
  size_t padded = (name.size() + 8) & ~size_t{7};
  b.resize(b.size() + padded - name.size(), 0);
  return b;
}

TEST(Sideband, ParsesMmap2WithBuildId) {
  auto rec = Record(PERF_RECORD_MMAP2, 1 << 14,
                    Mmap2Body(42, 0x400000, 0x1000, 0x2000, std::string(20, '\xab'), "/bin/x"), 42,
                    42, 777);
  auto r = ParseSidebandRecord(rec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->kind, SidebandRecord::Kind::kMmap2);
  EXPECT_EQ(r->addr, 0x400000u);
  EXPECT_EQ(r->len, 0x1000u);
  EXPECT_EQ(r->pgoff, 0x2000u);
  EXPECT_EQ(r->build_id, std::string(20, '\xab'));
  EXPECT_EQ(r->filename, "/bin/x");
  EXPECT_EQ(r->time_ns, 777u);
}

TEST(Sideband, TruncatedAndLyingRecordsAreErrors) {
  auto rec = Record(PERF_RECORD_MMAP2, 0, Mmap2Body(1, 0, 1, 0, "", "/a"), 1, 1, 1);
  for (size_t cut = 0; cut < rec.size(); ++cut) {
    std::vector<uint8_t> part(rec.begin(), rec.begin() + static_cast<ptrdiff_t>(cut));
    EXPECT_FALSE(ParseSidebandRecord(part).ok()) << "cut at " << cut;
  }
  // Header size that lies about the length.
  auto bad = rec;
  bad[6] = 200;
  EXPECT_FALSE(ParseSidebandRecord(bad).ok());
  // Build-id size larger than the field.
  auto big = Record(PERF_RECORD_MMAP2, 1 << 14, Mmap2Body(1, 0, 1, 0, "", "/a"), 1, 1, 1);
  big[sizeof(perf_event_header) + 32] = 99;  // build_id_size
  EXPECT_FALSE(ParseSidebandRecord(big).ok());
}

TEST(Sideband, ForkCommExitLost) {
  std::vector<uint8_t> fork_body;
  Put(fork_body, uint32_t{10});
  Put(fork_body, uint32_t{9});
  Put(fork_body, uint32_t{10});
  Put(fork_body, uint32_t{9});
  Put(fork_body, uint64_t{5});
  auto f = ParseSidebandRecord(Record(PERF_RECORD_FORK, 0, fork_body, 10, 10, 5));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->kind, SidebandRecord::Kind::kFork);
  EXPECT_EQ(f->pid, 10u);
  EXPECT_EQ(f->ppid, 9u);
  std::vector<uint8_t> comm_body;
  Put(comm_body, uint32_t{10});
  Put(comm_body, uint32_t{10});
  for (char ch : std::string("worker\0\0", 8)) comm_body.push_back(static_cast<uint8_t>(ch));
  auto c = ParseSidebandRecord(
      Record(PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC, comm_body, 10, 10, 6));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->exec);
  EXPECT_EQ(c->comm, "worker");
  std::vector<uint8_t> lost_body;
  Put(lost_body, uint64_t{1});
  Put(lost_body, uint64_t{33});
  auto l = ParseSidebandRecord(Record(PERF_RECORD_LOST, 0, lost_body, 0, 0, 7));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->lost, 33u);
}

SidebandRecord Mmap(uint32_t pid, uint64_t t, uint64_t start, uint64_t len, uint64_t pgoff,
                    const std::string& path) {
  SidebandRecord r;
  r.kind = SidebandRecord::Kind::kMmap2;
  r.pid = r.tid = pid;
  r.time_ns = t;
  r.addr = start;
  r.len = len;
  r.pgoff = pgoff;
  r.prot = PROT_READ | PROT_EXEC;
  r.filename = path;
  r.build_id = "id-" + path;
  return r;
}

SidebandRecord Exec(uint32_t pid, uint64_t t, const std::string& comm) {
  SidebandRecord r;
  r.kind = SidebandRecord::Kind::kComm;
  r.exec = true;
  r.pid = r.tid = pid;
  r.time_ns = t;
  r.comm = comm;
  return r;
}

TEST(ProcessMapTracker, ResolvesFileOffsetsOverTime) {
  ProcessMapTracker t;
  t.Apply(Mmap(100, 10, 0x1000, 0x1000, 0x3000, "/lib/a.so"));
  auto f = t.Resolve(100, 20, 0x1010);
  EXPECT_NE(f.mapping_id, 0u);
  EXPECT_EQ(f.address, 0x3010u);
  // Before the mapping existed: unknown, raw address kept.
  auto early = t.Resolve(100, 5, 0x1010);
  EXPECT_EQ(early.mapping_id, 0u);
  EXPECT_EQ(early.address, 0x1010u);
  // A later mapping over the same range wins for later samples only.
  t.Apply(Mmap(100, 30, 0x1000, 0x1000, 0x0, "/lib/b.so"));
  EXPECT_EQ(t.Resolve(100, 25, 0x1010).address, 0x3010u);
  EXPECT_EQ(t.Resolve(100, 35, 0x1010).address, 0x10u);
  // Another pid sees nothing.
  EXPECT_EQ(t.Resolve(101, 35, 0x1010).mapping_id, 0u);
}

TEST(ProcessMapTracker, ExecResetsAndForkCopies) {
  ProcessMapTracker t;
  t.Apply(Mmap(100, 10, 0x1000, 0x1000, 0, "/bin/old"));
  SidebandRecord fork;
  fork.kind = SidebandRecord::Kind::kFork;
  fork.pid = fork.tid = 200;
  fork.ppid = fork.ptid = 100;
  fork.time_ns = 15;
  t.Apply(fork);
  auto child = t.Resolve(200, 16, 0x1008);
  ASSERT_NE(child.mapping_id, 0u);
  EXPECT_EQ(child.address, 0x8u);
  t.Apply(Exec(100, 20, "new"));
  EXPECT_EQ(t.Resolve(100, 21, 0x1008).mapping_id, 0u) << "old image must not survive exec";
  EXPECT_NE(t.Resolve(100, 19, 0x1008).mapping_id, 0u) << "samples before exec still resolve";
  EXPECT_NE(t.Resolve(200, 21, 0x1008).mapping_id, 0u) << "the child keeps its copy";
  auto maps = t.TakeNewMappings();
  EXPECT_EQ(maps.size(), 1u) << "the child inherits, nothing is copied";
  EXPECT_TRUE(t.TakeNewMappings().empty());
  auto tasks = t.TakeNewTasks();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[1].kind, formats::TaskEventKind::kExec);
}

TEST(ProcessMapTracker, ForkBeforeParentMmapIsAppliedStillInherits) {
  // Side-band rings are drained CPU by CPU: a child's FORK may be applied
  // before the parent's earlier MMAP2 from another CPU's ring.
  ProcessMapTracker t;
  SidebandRecord fork;
  fork.kind = SidebandRecord::Kind::kFork;
  fork.pid = fork.tid = 300;
  fork.ppid = fork.ptid = 100;
  fork.time_ns = 50;
  t.Apply(fork);
  t.Apply(Mmap(100, 40, 0x5000, 0x1000, 0x2000, "/lib/dlopened.so"));
  auto f = t.Resolve(300, 60, 0x5010);
  ASSERT_NE(f.mapping_id, 0u);
  EXPECT_EQ(f.address, 0x2010u);
  // A mapping the parent made after the fork is not the child's.
  t.Apply(Mmap(100, 55, 0x9000, 0x1000, 0, "/lib/later.so"));
  EXPECT_EQ(t.Resolve(300, 60, 0x9010).mapping_id, 0u);
  // Grandchildren inherit through both links.
  SidebandRecord fork2 = fork;
  fork2.pid = fork2.tid = 400;
  fork2.ppid = fork2.ptid = 300;
  fork2.time_ns = 70;
  t.Apply(fork2);
  EXPECT_EQ(t.Resolve(400, 80, 0x5010).address, 0x2010u);
}

// Partly overlapping mappings, out of time order, many at one address
// (what a dlopen/dlclose loop gives): every lookup agrees with the rule
// itself, the newest mapping at or before the time that covers the address.
TEST(ProcessMapTracker, LookupsAgreeWithTheNewestCoveringMapping) {
  struct Added {
    uint64_t time, start, end;
    uint32_t order;
  };
  std::mt19937_64 rng(42);
  ProcessMapTracker t;
  std::vector<Added> added;
  for (uint32_t i = 0; i < 600; ++i) {
    // Page-aligned ranges in a 64-page window, so most overlap.
    const uint64_t start = 0x10000 + (rng() % 64) * 0x1000;
    const uint64_t len = (1 + rng() % 8) * 0x1000;
    const uint64_t time = 10 + rng() % 1000;
    t.Apply(Mmap(5, time, start, len, i * 0x1000, "/lib/l" + std::to_string(i)));
    added.push_back({time, start, start + len, i});
  }
  auto reference = [&](uint64_t time, uint64_t addr) -> int64_t {
    int64_t best = -1;
    for (const Added& a : added) {
      if (addr < a.start || addr >= a.end || a.time > time) continue;
      if (best < 0 || a.time >= added[static_cast<size_t>(best)].time) best = a.order;
    }
    return best;
  };
  for (int q = 0; q < 5000; ++q) {
    const uint64_t addr = 0xf000 + rng() % (80 * 0x1000);
    const uint64_t time = rng() % 1100;
    const int64_t want = reference(time, addr);
    const formats::UserFrame got = t.Resolve(5, time, addr);
    if (want < 0) {
      ASSERT_EQ(got.mapping_id, 0u) << std::hex << addr << " at " << std::dec << time;
    } else {
      const Added& a = added[static_cast<size_t>(want)];
      ASSERT_NE(got.mapping_id, 0u) << std::hex << addr << " at " << std::dec << time;
      ASSERT_EQ(got.address, addr - a.start + a.order * 0x1000)
          << std::hex << addr << " at " << std::dec << time;
    }
  }
  // The current mappings never overlap, and each is one that some lookup
  // now would give.
  std::vector<const formats::Mapping*> now = t.CurrentMappings(5);
  ASSERT_FALSE(now.empty());
  for (size_t i = 1; i < now.size(); ++i) EXPECT_LE(now[i - 1]->end, now[i]->start);
  for (const formats::Mapping* m : now) {
    EXPECT_EQ(t.FindMapping(5, UINT64_MAX, m->start), m) << std::hex << m->start;
  }
}

// A sample inside execve, after the switch to the new address space, still
// has the old image's IP: it resolves in the address space before the exec.
TEST(ProcessMapTracker, ResolvesBeforeTheExecThatBeganTheGeneration) {
  ProcessMapTracker t;
  t.Apply(Mmap(100, 10, 0x7000, 0x1000, 0x5000, "/lib/libc.so.6"));
  t.Apply(Exec(100, 20, "new"));
  EXPECT_EQ(t.Resolve(100, 25, 0x7010).mapping_id, 0u);
  const formats::UserFrame old = t.ResolveBeforeExec(100, 25, 0x7010);
  EXPECT_NE(old.mapping_id, 0u);
  EXPECT_EQ(old.address, 0x5010u);
  // Before any exec, or for a pid never seen: nothing.
  EXPECT_EQ(t.ResolveBeforeExec(100, 15, 0x7010).mapping_id, 0u);
  EXPECT_EQ(t.ResolveBeforeExec(999, 25, 0x7010).mapping_id, 0u);
}

TEST(ProcessMapTracker, ParsesProcMaps) {
  ProcessMapTracker t;
  t.AddProcMaps(7,
                "55d0a0000000-55d0a0001000 r--p 00000000 fe:01 123 /usr/bin/my prog\n"
                "55d0a0001000-55d0a0005000 r-xp 00001000 fe:01 123 /usr/bin/my prog\n"
                "7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0 [vdso]\n"
                "garbage line\n",
                0);
  auto maps = t.TakeNewMappings();
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].path, "/usr/bin/my prog");
  EXPECT_EQ(maps[0].pgoff, 0x1000u);
  EXPECT_EQ(maps[1].path, "[vdso]");
  EXPECT_EQ(t.Resolve(7, 1, 0x55d0a0001010).address, 0x1010u);
}

}  // namespace
}  // namespace ringprof::collector
