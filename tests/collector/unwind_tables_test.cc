// The table cache behind the BPF unwinder (collector/unwind_tables.h) and
// the dwarf-mode sample parser, without BPF: the maps are replaced by memory
// that the tests read back. Tables come from real binaries of the build
// (tests/workloads), so building, encoding, load bias, eviction and the
// corrupted-.sframe fallback run on real ELF files.
#include "collector/unwind_tables.h"

#include <linux/perf_event.h>
#include <poll.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "collector/perf_sample.h"
#include "collector/vdso.h"
#include "gtest/gtest.h"
#include "unwind/eh_frame.h"
#include "unwind/elf_image.h"
#include "unwind/sframe.h"

namespace ringprof::collector {
namespace {

const std::string kWorkloads = WORKLOAD_DIR;

class MemoryMaps : public UnwindMapWriter {
 public:
  explicit MemoryMaps(uint32_t capacity) : rows(capacity) {}
  uint32_t row_capacity() const override { return static_cast<uint32_t>(rows.size()); }
  absl::Status WriteRows(uint32_t first, absl::Span<const rp_unwind_row> r) override {
    EXPECT_LE(first + r.size(), rows.size());
    if (first + r.size() > rows.size()) return absl::OutOfRangeError("rows past the capacity");
    std::copy(r.begin(), r.end(), rows.begin() + first);
    return absl::OkStatus();
  }
  absl::Status WriteBin(uint32_t slot, const rp_unwind_bin& bin) override {
    EXPECT_LT(slot, static_cast<uint32_t>(RP_MAX_BINS));
    bins[slot] = bin;
    return absl::OkStatus();
  }
  absl::Status WriteProcMaps(uint32_t tgid, const rp_proc_maps& maps) override {
    procs[tgid] = maps;
    return absl::OkStatus();
  }
  absl::Status DeleteProcMaps(uint32_t tgid) override {
    return procs.erase(tgid) ? absl::OkStatus() : absl::NotFoundError("none");
  }
  // The rows a process entry leads to, or empty when its slot is stale.
  std::vector<rp_unwind_row> RowsOf(const rp_map_entry& e) const {
    auto it = bins.find(e.bin);
    if (it == bins.end() || it->second.generation != e.generation) return {};
    return {rows.begin() + it->second.row_start,
            rows.begin() + it->second.row_start + it->second.row_count};
  }

  std::vector<rp_unwind_row> rows;
  std::map<uint32_t, rp_unwind_bin> bins;
  std::map<uint32_t, rp_proc_maps> procs;
};

// A mapping of the executable segment of `path`, as the kernel would make
// it at `start` (page-aligned file offset of the PF_X PT_LOAD).
formats::Mapping ExecMapping(const std::string& path, uint64_t start) {
  formats::Mapping m;
  m.path = path;
  absl::StatusOr<std::vector<unwind::LoadSegment>> segs = unwind::ReadLoadSegments(path);
  EXPECT_TRUE(segs.ok()) << segs.status();
  for (const unwind::LoadSegment& s : *segs) {
    if (!s.executable) continue;
    m.pgoff = s.offset & ~uint64_t{4095};
    m.start = start;
    m.end = start + ((s.offset + s.filesz - m.pgoff + 4095) & ~uint64_t{4095});
  }
  absl::StatusOr<std::string> id = unwind::ReadGnuBuildId(path);
  if (id.ok()) m.build_id = *id;
  return m;
}

EncodedTable Expected(const std::string& path, bool sframe) {
  absl::StatusOr<unwind::UnwindTable> t = absl::InternalError("unset");
  if (sframe) {
    absl::StatusOr<unwind::SframeSection> s = unwind::ReadSframeFromElf(path);
    EXPECT_TRUE(s.ok()) << s.status();
    t = unwind::BuildTableFromSframe(*s);
  } else {
    t = unwind::BuildTableFromEhFrame(path);
  }
  EXPECT_TRUE(t.ok()) << t.status();
  // The collector marks the ELF entry code as the outermost frame.
  absl::StatusOr<uint64_t> entry = unwind::ReadEntryPoint(path);
  EXPECT_TRUE(entry.ok()) << entry.status();
  if (entry.ok()) unwind::MarkEntryPoint(*t, *entry);
  absl::StatusOr<EncodedTable> e = EncodeTable(*t);
  EXPECT_TRUE(e.ok()) << e.status();
  return *e;
}

bool SameRows(const std::vector<rp_unwind_row>& a, const std::vector<rp_unwind_row>& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) {
           return std::memcmp(&x, &y, sizeof(x)) == 0;
         });
}

// The row numbers of a table's page index entries.
std::vector<uint32_t> PageRows(const EncodedTable& e) {
  std::vector<uint32_t> out;
  for (const rp_unwind_row& p : e.pages) out.push_back(p.pc);
  return out;
}

TEST(EncodeTable, RulesThatFitAndRulesThatDoNot) {
  using unwind::CfaBase;
  unwind::UnwindTable t;
  t.source = unwind::TableSource::kEhFrame;
  auto row = [](uint64_t pc, CfaBase base, int32_t cfa, bool fp_saved = false, int16_t fp = 0) {
    unwind::UnwindRow r;
    r.pc = pc;
    r.cfa_base = base;
    r.cfa_offset = cfa;
    r.fp_saved = fp_saved;
    r.fp_offset = fp;
    return r;
  };
  t.rows = {row(0x1000, CfaBase::kSp, 8),
            row(0x1001, CfaBase::kSp, 16, true, -16),
            row(0x1004, CfaBase::kFp, 16, true, -16),
            row(0x1010, CfaBase::kFp, 16, true, -16),  // same after encoding: merged
            row(0x1020, CfaBase::kSp, 40000),          // beyond int16: far
            row(0x1030, CfaBase::kSp, 16, true, -12),  // FP slot not a multiple of 8
            row(0x1040, CfaBase::kUndefined, 0),
            row(0x1050, CfaBase::kNoInfo, 0),
            row(0x1060, CfaBase::kFp, -262336),  // far, negative
            row(0x1070, CfaBase::kSp, 40000)};   // the same far offset again
  absl::StatusOr<EncodedTable> e = EncodeTable(t);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->pc_base, 0x1000u);
  EXPECT_EQ(e->source, RP_UNWOUND_EHFRAME);
  ASSERT_EQ(e->rows.size(), 9u);
  EXPECT_EQ(e->rows[0].kind, RP_ROW_SP);
  EXPECT_EQ(e->rows[0].cfa_offset, 8);
  EXPECT_EQ(e->rows[1].kind, RP_ROW_SP | RP_ROW_FP_SAVED);
  EXPECT_EQ(e->rows[1].fp_offset8, -2);
  EXPECT_EQ(e->rows[2].pc, 4u);
  EXPECT_EQ(e->rows[2].kind, RP_ROW_FP | RP_ROW_FP_SAVED);
  // Offsets beyond int16 are indexes into the far list, each offset once.
  EXPECT_EQ(e->rows[3].pc, 0x20u);
  EXPECT_EQ(e->rows[3].kind, RP_ROW_SP | RP_ROW_FAR_CFA);
  EXPECT_EQ(e->rows[3].cfa_offset, 0);
  EXPECT_EQ(e->rows[4].kind, RP_ROW_UNSUPPORTED);
  EXPECT_EQ(e->rows[5].kind, RP_ROW_UNDEFINED);
  EXPECT_EQ(e->rows[5].pc, 0x40u);
  EXPECT_EQ(e->rows[6].kind, RP_ROW_NOINFO);
  EXPECT_EQ(e->rows[7].kind, RP_ROW_FP | RP_ROW_FAR_CFA);
  EXPECT_EQ(e->rows[7].cfa_offset, 1);
  EXPECT_EQ(e->rows[8].kind, RP_ROW_SP | RP_ROW_FAR_CFA);
  EXPECT_EQ(e->rows[8].cfa_offset, 0);
  ASSERT_EQ(e->far.size(), 2u);
  EXPECT_EQ(static_cast<int32_t>(e->far[0].pc), 40000);
  EXPECT_EQ(static_cast<int32_t>(e->far[1].pc), -262336);
  EXPECT_EQ(e->entries(), e->rows.size() + e->pages.size() + 2);
  EXPECT_EQ(e->unencodable_rows, 1u);

  EXPECT_EQ(PageRows(*e), std::vector<uint32_t>{0});  // all rows within the first page
  EXPECT_FALSE(e->pages[0].kind & RP_ROW_WHOLE_PAGE);

  t.rows.push_back(row(0x1000 + (uint64_t{1} << 32), CfaBase::kSp, 8));
  EXPECT_FALSE(EncodeTable(t).ok());
}

TEST(EncodeTable, PageIndexGivesTheRowInForceAtEachPageStart) {
  using unwind::CfaBase;
  unwind::UnwindTable t;
  auto row = [](uint64_t pc, int32_t cfa) {
    unwind::UnwindRow r;
    r.pc = pc;
    r.cfa_base = CfaBase::kSp;
    r.cfa_offset = cfa;
    return r;
  };
  constexpr uint64_t kPage = uint64_t{1} << RP_UNWIND_PAGE_SHIFT;
  t.rows = {row(0x400000, 8), row(0x400000 + kPage + kPage / 2, 16), row(0x400000 + 2 * kPage, 24),
            row(0x400000 + 5 * kPage + 0x10, 8)};
  absl::StatusOr<EncodedTable> e = EncodeTable(t);
  ASSERT_TRUE(e.ok()) << e.status();
  // Index pages 0 .. 5: rows 0, 0, 2 (starts exactly there), 2, 2, 2.
  EXPECT_EQ(PageRows(*e), (std::vector<uint32_t>{0, 0, 2, 2, 2, 2}));
  EXPECT_EQ(e->entries(), 10u);
  // Each entry carries its row's rule; it answers alone for pages where no
  // other row starts (1 and 5 have one starting inside them).
  const std::vector<bool> whole = {true, false, true, true, true, false};
  for (size_t i = 0; i < e->pages.size(); ++i) {
    SCOPED_TRACE(i);
    const rp_unwind_row& row = e->rows[e->pages[i].pc];
    EXPECT_EQ(e->pages[i].kind & RP_ROW_RULE_MASK, row.kind);
    EXPECT_EQ(e->pages[i].cfa_offset, row.cfa_offset);
    EXPECT_EQ((e->pages[i].kind & RP_ROW_WHOLE_PAGE) != 0, whole[i]);
  }
}

TEST(UnwindTables, PublishesTablesAndBiasPerProcess) {
  MemoryMaps maps(1 << 20);
  std::vector<std::string> warnings;
  UnwindTables tables(CallGraphMode::kAuto, &maps,
                      [&](const std::string& w) { warnings.push_back(w); });
  const std::string sframe = kWorkloads + "/workload_chain_sframe";
  const std::string ehframe = kWorkloads + "/workload_chain_ehframe";
  formats::Mapping a = ExecMapping(sframe, 0x555500001000);
  formats::Mapping b = ExecMapping(ehframe, 0x7f0000001000);
  formats::Mapping gone = ExecMapping(sframe, 0x7f1000000000);
  gone.path = "/nonexistent/binary";
  gone.build_id.clear();
  formats::Mapping vdso;
  vdso.path = "[vdso]";
  vdso.start = 0x7fff00000000;
  vdso.end = vdso.start + 4096;
  ASSERT_TRUE(tables.UpdateProcess(42, {&a, &b, &gone, &vdso}).ok());

  ASSERT_TRUE(maps.procs.count(42));
  const rp_proc_maps& pm = maps.procs[42];
  // Every executable mapping has an entry; those without a table (a file
  // that is gone, the vDSO without its image) say so, so that the walk
  // uses frame pointers there instead of waiting for a table.
  ASSERT_EQ(pm.count, 4u);
  EXPECT_EQ(pm.entries[0].start, a.start);
  EXPECT_EQ(pm.entries[1].start, b.start);
  EXPECT_EQ(pm.entries[2].start, gone.start);
  EXPECT_EQ(pm.entries[2].bin, RP_BIN_NONE);
  EXPECT_EQ(pm.entries[3].start, vdso.start);
  EXPECT_EQ(pm.entries[3].bin, RP_BIN_NONE);
  for (int i = 0; i < 2; ++i) {
    const formats::Mapping& m = i == 0 ? a : b;
    absl::StatusOr<std::vector<unwind::LoadSegment>> segs = unwind::ReadLoadSegments(m.path);
    ASSERT_TRUE(segs.ok());
    for (const unwind::LoadSegment& s : *segs) {
      if (s.executable) {
        EXPECT_EQ(pm.entries[i].bias, m.start - m.pgoff - (s.vaddr - s.offset));
      }
    }
  }
  EXPECT_TRUE(SameRows(maps.RowsOf(pm.entries[0]), Expected(sframe, true).rows));
  EXPECT_TRUE(SameRows(maps.RowsOf(pm.entries[1]), Expected(ehframe, false).rows));
  EXPECT_EQ(maps.bins[pm.entries[0].bin].source, RP_UNWOUND_SFRAME);
  EXPECT_EQ(maps.bins[pm.entries[1].bin].source, RP_UNWOUND_EHFRAME);
  EXPECT_EQ(tables.stats().tables_loaded, 2u);
  EXPECT_EQ(tables.stats().binaries_without_table, 1u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(absl::StrContains(warnings[0], "/nonexistent/binary")) << warnings[0];

  // A second process mapping the same binary shares its table.
  formats::Mapping a2 = ExecMapping(sframe, 0x560000001000);
  ASSERT_TRUE(tables.UpdateProcess(43, {&a2}).ok());
  EXPECT_EQ(maps.procs[43].entries[0].bin, pm.entries[0].bin);
  EXPECT_EQ(tables.stats().tables_loaded, 2u);

  // Every write of a process's list has a stamp of its own, never 0: the
  // BPF row cache keys its entries by it, so a rewrite (here: process 42
  // after an munmap) must not match entries found through the old list.
  const uint32_t first_stamp = pm.stamp;
  EXPECT_NE(first_stamp, 0u);
  EXPECT_NE(maps.procs[43].stamp, 0u);
  EXPECT_NE(maps.procs[43].stamp, first_stamp);
  ASSERT_TRUE(tables.UpdateProcess(42, {&a, &vdso}).ok());
  EXPECT_EQ(maps.procs[42].count, 2u);
  EXPECT_NE(maps.procs[42].stamp, first_stamp);
  EXPECT_NE(maps.procs[42].stamp, maps.procs[43].stamp);
  // The same list again is not rewritten, so its stamp (and the process's
  // cached rows) stay.
  const uint32_t second_stamp = maps.procs[42].stamp;
  maps.procs[42].stamp = 0;  // a rewrite would show
  ASSERT_TRUE(tables.UpdateProcess(42, {&a, &vdso}).ok());
  EXPECT_EQ(maps.procs[42].stamp, 0u);
  // After the process is removed, the same list is written afresh.
  ASSERT_TRUE(tables.RemoveProcess(42).ok());
  ASSERT_TRUE(tables.UpdateProcess(42, {&a}).ok());
  EXPECT_NE(maps.procs[42].stamp, 0u);
  EXPECT_NE(maps.procs[42].stamp, second_stamp);

  ASSERT_TRUE(tables.RemoveProcess(42).ok());
  EXPECT_FALSE(maps.procs.count(42));
  EXPECT_TRUE(tables.RemoveProcess(42).ok());  // already gone: fine
}

// Lazy mode (the recorder's): nothing is built until a walk asks for it,
// and then every process that maps the binary is published again.
TEST(UnwindTables, LazyModeBuildsOnlyWhatWalksAskFor) {
  MemoryMaps maps(1 << 20);
  UnwindTables tables(CallGraphMode::kAuto, &maps, [](const std::string&) {});
  tables.SetLazy(true);
  const std::string sframe = kWorkloads + "/workload_chain_sframe";
  const std::string ehframe = kWorkloads + "/workload_chain_ehframe";
  formats::Mapping a = ExecMapping(sframe, 0x555500001000);
  formats::Mapping b = ExecMapping(ehframe, 0x7f0000001000);
  formats::Mapping anon;
  anon.path = "//anon";
  anon.start = 0x7f2000000000;
  anon.end = anon.start + 4096;
  ASSERT_TRUE(tables.UpdateProcess(7, {&a, &b, &anon}).ok());
  ASSERT_TRUE(tables.UpdateProcess(8, {&a}).ok());
  ASSERT_TRUE(tables.UpdateProcess(9, {&b}).ok());
  EXPECT_EQ(tables.stats().tables_loaded, 0u);
  // Only the anonymous code is in a list (no table, and none coming): a
  // PC in the two binaries finds no entry, so its walk is deferred.
  ASSERT_TRUE(maps.procs.count(7));
  EXPECT_EQ(maps.procs[7].count, 1u);
  EXPECT_EQ(maps.procs[7].entries[0].bin, RP_BIN_NONE);
  EXPECT_FALSE(maps.procs.count(8));
  EXPECT_TRUE(tables.BuildWanted().empty());

  tables.Want(a);
  tables.Want(a);                             // asked twice: built once
  ASSERT_TRUE(tables.RemoveProcess(8).ok());  // exited meanwhile
  EXPECT_EQ(tables.BuildWanted(), std::vector<uint32_t>{7});
  EXPECT_EQ(tables.stats().tables_loaded, 1u);
  ASSERT_TRUE(tables.UpdateProcess(7, {&a, &b, &anon}).ok());
  EXPECT_EQ(maps.procs[7].count, 2u);
  EXPECT_EQ(maps.procs[7].entries[0].start, a.start);
  EXPECT_NE(maps.procs[7].entries[0].bin, RP_BIN_NONE);
  EXPECT_TRUE(SameRows(maps.RowsOf(maps.procs[7].entries[0]), Expected(sframe, true).rows));
  // A binary that is loaded already is not asked for again.
  tables.Want(a);
  EXPECT_TRUE(tables.BuildWanted().empty());
  EXPECT_EQ(tables.stats().tables_loaded, 1u);
  tables.Want(b);
  EXPECT_EQ(tables.BuildWanted(), (std::vector<uint32_t>{7, 9}));
  EXPECT_EQ(tables.stats().tables_loaded, 2u);
}

// The recorder's way: lazy builds on the worker thread. BuildWanted()
// hands the binary over and returns at once; once ready_fd() says a build
// is done, the next call loads it and names the processes to publish.
TEST(UnwindTables, WorkerThreadBuildsWantedTablesWhileTheCallerGoesOn) {
  MemoryMaps maps(1 << 20);
  std::vector<std::string> warnings;
  UnwindTables tables(CallGraphMode::kAuto, &maps,
                      [&](const std::string& w) { warnings.push_back(w); });
  tables.SetLazy(true);
  ASSERT_TRUE(tables.StartWorker().ok());
  ASSERT_GE(tables.ready_fd(), 0);
  const std::string sframe = kWorkloads + "/workload_chain_sframe";
  const std::string ehframe = kWorkloads + "/workload_chain_ehframe";
  formats::Mapping a = ExecMapping(sframe, 0x555500001000);
  formats::Mapping b = ExecMapping(ehframe, 0x7f0000001000);
  formats::Mapping gone = a;  // a file that is not there: no table, with a warning
  gone.path = kWorkloads + "/no-such-binary";
  gone.build_id.clear();
  gone.start = 0x7f1000001000;
  gone.end = gone.start + 4096;
  ASSERT_TRUE(tables.UpdateProcess(7, {&a, &b, &gone}).ok());
  ASSERT_TRUE(tables.UpdateProcess(9, {&b}).ok());
  tables.Want(a);
  tables.Want(b);
  tables.Want(gone);
  std::vector<uint32_t> published;
  // Waits for a state (every build handed back), not for a time; the
  // bound only turns a hang into a failure.
  for (int round = 0; round < 1000; ++round) {
    std::vector<uint32_t> pids = tables.BuildWanted();
    published.insert(published.end(), pids.begin(), pids.end());
    tables.Want(a);  // asked again while building: not built twice
    if (tables.building() == 0) break;
    pollfd p{tables.ready_fd(), POLLIN, 0};
    ASSERT_GE(poll(&p, 1, 60000), 0);
  }
  EXPECT_EQ(tables.building(), 0u);
  std::sort(published.begin(), published.end());
  published.erase(std::unique(published.begin(), published.end()), published.end());
  EXPECT_EQ(published, (std::vector<uint32_t>{7, 9}));
  EXPECT_EQ(tables.stats().tables_loaded, 2u);
  EXPECT_EQ(tables.stats().binaries_without_table, 1u);
  EXPECT_GT(tables.stats().build_seconds, 0);
  ASSERT_EQ(warnings.size(), 1u);  // the warning reaches the caller's thread
  EXPECT_NE(warnings[0].find("no-such-binary"), std::string::npos) << warnings[0];
  ASSERT_TRUE(tables.UpdateProcess(7, {&a, &b, &gone}).ok());
  ASSERT_EQ(maps.procs[7].count, 3u);
  EXPECT_TRUE(SameRows(maps.RowsOf(maps.procs[7].entries[0]), Expected(sframe, true).rows));
  EXPECT_TRUE(SameRows(maps.RowsOf(maps.procs[7].entries[1]), Expected(ehframe, false).rows));
  EXPECT_EQ(maps.procs[7].entries[2].bin, RP_BIN_NONE);
  // Loaded: not asked for again.
  tables.Want(a);
  EXPECT_TRUE(tables.BuildWanted().empty());
  EXPECT_EQ(tables.building(), 0u);
}

TEST(UnwindTables, EvictsLeastRecentlyUsedToStayUnderTheCap) {
  const std::string sframe = kWorkloads + "/workload_chain_sframe";
  const std::string ehframe = kWorkloads + "/workload_chain_ehframe";
  const std::string deep = kWorkloads + "/workload_deep_ehframe";
  const size_t n_sframe = Expected(sframe, true).entries();
  const size_t n_ehframe = Expected(ehframe, false).entries();
  const size_t n_deep = Expected(deep, false).entries();
  // Room for the first two tables, not for all three.
  const auto capacity = static_cast<uint32_t>(n_sframe + n_ehframe);
  ASSERT_LT(n_deep, capacity);
  MemoryMaps maps(capacity);
  UnwindTables tables(CallGraphMode::kAuto, &maps, [](const std::string&) {});
  formats::Mapping a = ExecMapping(sframe, 0x10000000);
  formats::Mapping b = ExecMapping(ehframe, 0x20000000);
  formats::Mapping c = ExecMapping(deep, 0x30000000);
  ASSERT_TRUE(tables.UpdateProcess(1, {&a}).ok());
  ASSERT_TRUE(tables.UpdateProcess(2, {&b}).ok());
  const rp_map_entry old_a = maps.procs[1].entries[0];
  ASSERT_TRUE(tables.UpdateProcess(3, {&c}).ok());  // a is the least recently used
  EXPECT_EQ(tables.stats().tables_evicted, 1u);
  EXPECT_EQ(tables.stats().rows_evicted, n_sframe);
  EXPECT_TRUE(maps.RowsOf(old_a).empty()) << "process 1 still reaches evicted rows";
  EXPECT_TRUE(SameRows(maps.RowsOf(maps.procs[3].entries[0]), Expected(deep, false).rows));
  EXPECT_TRUE(SameRows(maps.RowsOf(maps.procs[2].entries[0]), Expected(ehframe, false).rows));
  EXPECT_LE(tables.resident_rows(), capacity);
  EXPECT_LE(tables.stats().peak_rows, capacity);

  // Process 1 comes back: its table is rebuilt, evicting again.
  ASSERT_TRUE(tables.UpdateProcess(1, {&a}).ok());
  EXPECT_TRUE(SameRows(maps.RowsOf(maps.procs[1].entries[0]), Expected(sframe, true).rows));
  EXPECT_GE(tables.stats().tables_evicted, 2u);
}

TEST(UnwindTables, TableLargerThanTheCapIsSkippedWithAWarning) {
  MemoryMaps maps(16);
  std::vector<std::string> warnings;
  UnwindTables tables(CallGraphMode::kEhFrame, &maps,
                      [&](const std::string& w) { warnings.push_back(w); });
  formats::Mapping a = ExecMapping(kWorkloads + "/workload_chain_ehframe", 0x10000000);
  ASSERT_TRUE(tables.UpdateProcess(1, {&a}).ok());
  EXPECT_FALSE(maps.procs.count(1));
  EXPECT_EQ(tables.stats().tables_too_big, 1u);
  ASSERT_FALSE(warnings.empty());
  EXPECT_TRUE(absl::StrContains(warnings.back(), "raise --unwind-mem")) << warnings.back();
}

TEST(UnwindTables, CorruptSframeFallsBackPerMode) {
  const std::string bad = kWorkloads + "/workload_chain_badsframe";
  for (CallGraphMode mode : {CallGraphMode::kAuto, CallGraphMode::kSframe}) {
    SCOPED_TRACE(CallGraphModeName(mode));
    MemoryMaps maps(1 << 16);
    std::vector<std::string> warnings;
    UnwindTables tables(mode, &maps, [&](const std::string& w) { warnings.push_back(w); });
    formats::Mapping m = ExecMapping(bad, 0x10000000);
    ASSERT_TRUE(tables.UpdateProcess(1, {&m}).ok());
    ASSERT_FALSE(warnings.empty());
    EXPECT_TRUE(absl::StrContains(warnings[0], ".sframe is unusable")) << warnings[0];
    if (mode == CallGraphMode::kAuto) {
      ASSERT_TRUE(maps.procs.count(1));
      EXPECT_EQ(maps.bins[maps.procs[1].entries[0].bin].source, RP_UNWOUND_EHFRAME);
    } else {
      ASSERT_TRUE(maps.procs.count(1));
      EXPECT_EQ(maps.procs[1].entries[0].bin, RP_BIN_NONE);
      EXPECT_EQ(tables.stats().binaries_without_table, 1u);
    }
  }
}

TEST(UnwindTables, VdsoMappingsUseTheCapturedImage) {
  absl::StatusOr<VdsoImage> vdso = VdsoImage::Capture();
  if (absl::IsNotFound(vdso.status())) GTEST_SKIP() << vdso.status();
  ASSERT_TRUE(vdso.ok()) << vdso.status();
  // The copy is an ELF file with unwind information.
  absl::StatusOr<std::vector<unwind::LoadSegment>> segs = unwind::ReadLoadSegments(vdso->path());
  ASSERT_TRUE(segs.ok()) << segs.status();
  MemoryMaps maps(1 << 16);
  UnwindTables tables(CallGraphMode::kAuto, &maps, [](const std::string&) {});
  formats::Mapping m;
  m.path = "[vdso]";
  m.start = 0x7ffd00000000;
  m.end = m.start + 8192;
  ASSERT_TRUE(tables.UpdateProcess(1, {&m}).ok());
  ASSERT_TRUE(maps.procs.count(1));
  EXPECT_EQ(maps.procs[1].entries[0].bin, RP_BIN_NONE) << "no image given: no table";
  tables.SetVdsoPath(vdso->path());
  ASSERT_TRUE(tables.UpdateProcess(1, {&m}).ok());
  ASSERT_TRUE(maps.procs.count(1));
  EXPECT_EQ(maps.procs[1].entries[0].start, m.start);
  EXPECT_FALSE(maps.RowsOf(maps.procs[1].entries[0]).empty());
}

TEST(CallGraphMode, NamesRoundTrip) {
  for (const char* n : {"auto", "fp", "sframe", "ehframe", "dwarf"}) {
    absl::StatusOr<CallGraphMode> m = ParseCallGraphMode(n);
    ASSERT_TRUE(m.ok()) << n;
    EXPECT_STREQ(CallGraphModeName(*m), n);
  }
  EXPECT_FALSE(ParseCallGraphMode("lbr").ok());
}

// A PERF_RECORD_SAMPLE as --call-graph dwarf opens its events.
std::vector<uint8_t> DwarfSample(uint64_t mask, size_t stack_size, uint64_t dyn_size) {
  std::vector<uint8_t> b(sizeof(perf_event_header));
  auto u64 = [&](uint64_t v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + 8);
  };
  u64(0x401000);                                    // ip
  u64((uint64_t{7} << 32) | 5);                     // pid 5, tid 7
  u64(123456789);                                   // time
  u64(1000);                                        // period
  u64(3);                                           // callchain nr
  u64(static_cast<uint64_t>(PERF_CONTEXT_KERNEL));  // marker
  u64(0xffffffff81000010);
  u64(0xffffffff81000020);
  u64(PERF_SAMPLE_REGS_ABI_64);
  for (int i = 0; i < std::popcount(mask); ++i) u64(0x1000 + i);
  u64(stack_size);
  for (size_t i = 0; i < stack_size; ++i) b.push_back(static_cast<uint8_t>(i));
  if (stack_size > 0) u64(dyn_size);
  perf_event_header h{PERF_RECORD_SAMPLE, 0, static_cast<uint16_t>(b.size())};
  std::memcpy(b.data(), &h, sizeof(h));
  return b;
}

TEST(PerfSample, ParsesDwarfModeSamples) {
  const uint64_t mask = 0b1011;
  std::vector<uint8_t> rec = DwarfSample(mask, 64, 40);
  absl::StatusOr<PerfSample> s = ParsePerfSample(rec, mask);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->ip, 0x401000u);
  EXPECT_EQ(s->pid, 5u);
  EXPECT_EQ(s->tid, 7u);
  EXPECT_EQ(s->time_ns, 123456789u);
  EXPECT_EQ(s->period, 1000u);
  EXPECT_EQ(s->kernel_ips, (std::vector<uint64_t>{0xffffffff81000010, 0xffffffff81000020}));
  EXPECT_EQ(s->regs, (std::vector<uint64_t>{0x1000, 0x1001, 0x1002}));
  ASSERT_EQ(s->stack.size(), 40u);  // dyn_size: the part the kernel filled
  EXPECT_EQ(s->stack[39], 39);
  // Every truncation is an error, never a read past the end.
  for (size_t n = 0; n < rec.size(); ++n) {
    EXPECT_FALSE(ParsePerfSample(absl::MakeConstSpan(rec.data(), n), mask).ok()) << n;
  }
  // dyn_size larger than the copy is clamped to it.
  std::vector<uint8_t> big = DwarfSample(mask, 16, 1 << 20);
  absl::StatusOr<PerfSample> b = ParsePerfSample(big, mask);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->stack.size(), 16u);
}

}  // namespace
}  // namespace ringprof::collector
