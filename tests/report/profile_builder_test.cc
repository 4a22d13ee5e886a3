#include "report/profile_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "absl/strings/escaping.h"
#include "formats/pprof.h"
#include "report/table.h"
#include "tests/report/test_tools.h"

namespace ringprof::report {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kStart = 0x555555554000;
constexpr uint32_t kMappingId = 7;
constexpr uint32_t kPid = 100;

constexpr char kKallsyms[] =
    "ffffffff81000000 T _stext\n"
    "ffffffff81001000 T do_syscall_64\n"
    "ffffffff81002000 T asm_exc_page_fault\n"
    "ffffffff81003000 t handle_mm_fault\n"
    "ffffffff81004000 T _etext\n";

class ProfileBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = RINGPROF_REPORT_TARGET;
    auto leaf = ringprof::testing::FindFunction(path_, "rp_leaf");
    auto middle = ringprof::testing::FindFunction(path_, "rp_middle");
    auto main_fn = ringprof::testing::FindFunction(path_, "main");
    ASSERT_TRUE(leaf && middle && main_fn) << "symbols missing in " << path_;
    leaf_ = *leaf;
    middle_ = *middle;
    main_ = *main_fn;
    absl::StatusOr<std::string> build_id = symbolizer::ReadBuildId(path_);
    ASSERT_TRUE(build_id.ok()) << build_id.status();
    build_id_ = *build_id;

    rec_.events = {{.name = "cpu-clock",
                    .type = 1,
                    .config = 0,
                    .freq = false,
                    .sample_freq_or_period = 1000000,
                    .unit = "nanoseconds"}};
    rec_.counters = {{.name = "page-faults", .type = 1, .config = 2, .unit = "count"}};
    rec_.start_time_ns = 1'000'000'000;
    rec_.end_time_ns = 3'000'000'000;
    rec_.mappings = {{.id = kMappingId,
                      .pid = kPid,
                      .time_ns = 0,
                      .start = kStart,
                      .end = kStart + 0x10000,
                      .pgoff = 0,
                      .prot = 5,
                      .build_id = build_id_,
                      .path = path_}};
    rec_.tasks = {{.kind = formats::TaskEventKind::kComm,
                   .time_ns = 0,
                   .pid = kPid,
                   .tid = kPid,
                   .comm = "before"},
                  {.kind = formats::TaskEventKind::kExec,
                   .time_ns = 2'000'000'000,
                   .pid = kPid,
                   .tid = kPid,
                   .comm = "after"}};
    rec_.kallsyms = kKallsyms;
  }

  formats::Sample UserSample(uint64_t time, std::vector<uint64_t> offsets) {
    formats::Sample s;
    s.time_ns = time;
    s.pid = kPid;
    s.tid = kPid + 1;
    s.period = 1000000;
    for (uint64_t off : offsets) s.user_frames.push_back({kMappingId, off});
    s.counter_deltas = {2};
    return s;
  }

  absl::StatusOr<formats::Profile> Build(BuildOptions options = {}) {
    symbolizer::Symbolizer sym(symbolizer::SymbolizerOptions{});
    return BuildProfile(rec_, sym, options);
  }

  std::string path_, build_id_;
  ringprof::testing::SymbolRange leaf_, middle_, main_;
  formats::Recording rec_;
};

const formats::ProfileLocation& Loc(const formats::Profile& p, uint64_t id) {
  for (const auto& l : p.locations)
    if (l.id == id) return l;
  static const formats::ProfileLocation kNone;
  ADD_FAILURE() << "no location " << id;
  return kNone;
}

std::string FunctionName(const formats::Profile& p, uint64_t id) {
  for (const auto& f : p.functions)
    if (f.id == id) return f.name;
  return "<missing function>";
}

// Innermost function name of a location.
std::string LeafName(const formats::Profile& p, uint64_t loc) {
  const auto& l = Loc(p, loc);
  return l.lines.empty() ? "<no lines>" : FunctionName(p, l.lines.front().function_id);
}

std::string Label(const formats::ProfileSample& s, const std::string& key) {
  for (const auto& l : s.labels)
    if (l.key == key) return l.is_num ? std::to_string(l.num) : l.str;
  return "<none>";
}

TEST_F(ProfileBuilderTest, StructureIdsOrderLabelsAndValues) {
  // Kernel stack (leaf first) above a user stack main -> rp_middle -> rp_leaf.
  formats::Sample s = UserSample(
      1'500'000'000, {leaf_.file_offset + 4, middle_.file_offset + 8, main_.file_offset + 8});
  s.kernel_ips = {0xffffffff81003010, 0xffffffff81002020};
  rec_.samples = {s, s, UserSample(2'500'000'000, {leaf_.file_offset + 4})};

  absl::StatusOr<formats::Profile> p = Build();
  ASSERT_TRUE(p.ok()) << p.status();

  std::vector<std::string> types;
  for (const auto& t : p->sample_types) types.push_back(t.type + "/" + t.unit);
  EXPECT_EQ(types, (std::vector<std::string>{"samples/count", "cpu-clock/nanoseconds",
                                             "page-faults/count"}));
  EXPECT_EQ(p->default_sample_type, "samples");
  EXPECT_EQ(p->period_type.type, "cpu-clock");
  EXPECT_EQ(p->period, 1000000);
  EXPECT_EQ(p->duration_nanos, 2'000'000'000);
  EXPECT_EQ(p->sample_count, 3u);

  std::set<uint64_t> ids;
  for (const auto& l : p->locations) {
    EXPECT_NE(l.id, 0u);
    EXPECT_TRUE(ids.insert(l.id).second) << "duplicate location " << l.id;
  }
  std::set<uint64_t> fids;
  for (const auto& f : p->functions) EXPECT_TRUE(f.id != 0 && fids.insert(f.id).second);

  // Identical (stack, pid, tid) samples are aggregated; the later one has a
  // different comm (after exec) and stack.
  ASSERT_EQ(p->samples.size(), 2u);
  const formats::ProfileSample& first = p->samples[0];
  EXPECT_EQ(first.values, (std::vector<int64_t>{2, 2000000, 4}));
  ASSERT_EQ(first.location_ids.size(), 5u);
  EXPECT_EQ(LeafName(*p, first.location_ids[0]), "handle_mm_fault");
  EXPECT_EQ(LeafName(*p, first.location_ids[1]), "asm_exc_page_fault");
  EXPECT_EQ(LeafName(*p, first.location_ids[2]), "rp_leaf");
  EXPECT_EQ(Loc(*p, first.location_ids[2]).address, kStart + leaf_.file_offset + 4);
  EXPECT_EQ(FunctionName(*p, Loc(*p, first.location_ids[3]).lines.back().function_id), "rp_middle");
  EXPECT_EQ(LeafName(*p, first.location_ids[4]), "main");
  EXPECT_EQ(Label(first, "pid"), "100");
  EXPECT_EQ(Label(first, "tid"), "101");
  EXPECT_EQ(Label(first, "comm"), "before");
  EXPECT_EQ(Label(p->samples[1], "comm"), "after");

  // Mappings: the main binary first, with a lower-case hex build-id and the
  // symbolized flags; then the kernel.
  ASSERT_EQ(p->mappings.size(), 2u);
  EXPECT_EQ(p->mappings[0].id, kMappingId);
  EXPECT_EQ(p->mappings[0].build_id, absl::BytesToHexString(build_id_));
  EXPECT_TRUE(std::regex_match(p->mappings[0].build_id, std::regex("[0-9a-f]+")));
  EXPECT_TRUE(p->mappings[0].has_functions);
  EXPECT_TRUE(p->mappings[0].has_line_numbers);
  EXPECT_TRUE(p->mappings[0].has_filenames);
  EXPECT_EQ(p->mappings[1].filename, "[kernel.kallsyms]");
  EXPECT_EQ(p->unsymbolized_frames, 0u);
  EXPECT_TRUE(formats::EncodePprof(*p).ok());
}

TEST_F(ProfileBuilderTest, InlineChainsAreLines) {
  // Every byte of rp_middle as a leaf: some address must be inside the
  // inlined copy of rp_inlined, giving a two-line location.
  for (uint64_t off = 0; off < middle_.size; ++off)
    rec_.samples.push_back(UserSample(1'000'000'000, {middle_.file_offset + off}));
  absl::StatusOr<formats::Profile> p = Build();
  ASSERT_TRUE(p.ok()) << p.status();
  bool found = false;
  for (const auto& l : p->locations) {
    if (l.lines.size() < 2) continue;
    EXPECT_EQ(FunctionName(*p, l.lines.front().function_id), "rp_inlined");
    EXPECT_EQ(FunctionName(*p, l.lines.back().function_id), "rp_middle");
    EXPECT_GT(l.lines.front().line, 0);
    found = true;
  }
  EXPECT_TRUE(found) << "no inline chain found in rp_middle";
  EXPECT_TRUE(p->mappings[0].has_inline_frames);
  // The table counts inlined functions as functions.
  FunctionTable t = ComputeFunctionTable(*p);
  bool has_inlined_row = false;
  for (const auto& r : t.rows) has_inlined_row |= r.name == "rp_inlined";
  EXPECT_TRUE(has_inlined_row);
}

TEST_F(ProfileBuilderTest, ReturnAddressesSymbolizeAtCallSite) {
  // The first byte of rp_leaf as a return address belongs to the byte
  // before it, which is not rp_leaf; as the leaf it is rp_leaf.
  rec_.samples = {UserSample(1'000'000'000, {main_.file_offset, leaf_.file_offset})};
  absl::StatusOr<formats::Profile> p = Build();
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->samples.size(), 1u);
  const auto& ids = p->samples[0].location_ids;
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_NE(LeafName(*p, ids[1]), "rp_leaf");
  EXPECT_EQ(Loc(*p, ids[1]).address, kStart + leaf_.file_offset);  // original address kept
  EXPECT_EQ(LeafName(*p, ids[0]), "main");
}

TEST_F(ProfileBuilderTest, UnresolvableFramesAreNamedByOffsetAndCounted) {
  formats::Sample s = UserSample(1'000'000'000, {0x7fff000, leaf_.file_offset + 4});
  s.kernel_ips = {0xffffffff80000010};  // below the first kallsyms symbol
  formats::Sample unmapped = UserSample(1'000'000'000, {});
  unmapped.user_frames = {{0, 0x1234}};
  rec_.samples = {s, unmapped};
  absl::StatusOr<formats::Profile> p = Build();
  ASSERT_TRUE(p.ok()) << p.status();
  std::set<std::string> names;
  for (const auto& f : p->functions) names.insert(f.name);
  std::string base = std::filesystem::path(path_).filename().string();
  EXPECT_TRUE(names.contains(base + "+0x7fff000")) << ::testing::PrintToString(names);
  EXPECT_TRUE(names.contains("[unmapped]+0x1234")) << ::testing::PrintToString(names);
  for (const auto& n : names) EXPECT_EQ(n.find("[unknown]"), std::string::npos);
  // The user frame outside the file and the kernel frame below _stext.
  EXPECT_EQ(p->unsymbolized_frames, 2u) << ::testing::PrintToString(names);
  EXPECT_TRUE(formats::EncodePprof(*p).ok());
}

// The recorded file was replaced by garbage after recording: the frames
// stay (named by offset) and the profile says why, once per file.
TEST_F(ProfileBuilderTest, GarbageInPlaceOfTheFileIsCountedNotFatal) {
  const std::string garbage = ::testing::TempDir() + "/rp_profile_builder_garbage.so";
  {
    std::ofstream out(garbage, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>(i == 0 ? 0 : (i * 131) >> 3));
  }
  rec_.mappings[0].path = garbage;
  rec_.mappings[0].build_id = "";  // nothing to match: the file itself is tried
  rec_.samples = {UserSample(1'000'000'000, {leaf_.file_offset, main_.file_offset})};
  absl::StatusOr<formats::Profile> p = Build();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->unsymbolized_frames, 2u);
  const std::string why = garbage + ": file format not recognized (no ELF magic number)";
  EXPECT_THAT(p->comments, ::testing::Contains("symbolizer: " + why + " (2 addresses)"));

  // With the build-id recorded the search skips the file and says why.
  rec_.mappings[0].build_id = build_id_;
  p = Build();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->unsymbolized_frames, 2u);
  EXPECT_THAT(p->comments, ::testing::Contains(::testing::AllOf(
                               HasSubstr("symbolizer: no ELF for " + garbage),
                               HasSubstr("(" + why + ")"), HasSubstr("(2 addresses)"))));
  std::remove(garbage.c_str());
}

TEST_F(ProfileBuilderTest, FiltersByPidAndComm) {
  formats::Sample other = UserSample(1'000'000'000, {leaf_.file_offset + 4});
  other.pid = 555;
  rec_.samples = {UserSample(1'000'000'000, {leaf_.file_offset + 4}), other,
                  UserSample(2'500'000'000, {leaf_.file_offset + 4})};
  BuildOptions pid_filter;
  pid_filter.pid = kPid;
  absl::StatusOr<formats::Profile> by_pid = Build(pid_filter);
  ASSERT_TRUE(by_pid.ok());
  EXPECT_EQ(by_pid->sample_count, 2u);
  BuildOptions comm_filter;
  comm_filter.comm = "after";
  absl::StatusOr<formats::Profile> by_comm = Build(comm_filter);
  ASSERT_TRUE(by_comm.ok());
  EXPECT_EQ(by_comm->sample_count, 1u);
}

TEST_F(ProfileBuilderTest, LoadProfileReadsARecordingFileAndReportsDamage) {
  ringprof::testing::TempDir dir;
  std::string file = dir.File("r.rpf");
  rec_.samples = {UserSample(1'500'000'000, {leaf_.file_offset + 4, middle_.file_offset + 8})};
  {
    absl::StatusOr<std::unique_ptr<formats::RecordingWriter>> w =
        formats::RecordingWriter::Create(file);
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->WriteMeta(rec_.meta, rec_.events, rec_.counters, rec_.start_time_ns).ok());
    ASSERT_TRUE((*w)->WriteMappings(rec_.mappings).ok());
    ASSERT_TRUE((*w)->WriteTasks(rec_.tasks).ok());
    ASSERT_TRUE((*w)->WriteKallsyms(rec_.kallsyms).ok());
    ASSERT_TRUE((*w)->WriteSamples(rec_.samples).ok());
    // No Finish(): the file has no END chunk, like a killed recorder's.
  }
  absl::StatusOr<formats::Profile> p = LoadProfile(file, {}, {});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->sample_count, 1u);
  EXPECT_FALSE(p->damage.empty());
  EXPECT_THAT(DamageWarning(p->damage), HasSubstr("recording is damaged: "));
  EXPECT_THAT(DamageWarning(p->damage), HasSubstr("; showing what was readable"));
  EXPECT_EQ(DamageWarning(formats::Damage{}), "");
  EXPECT_FALSE(LoadProfile(dir.File("missing.rpf"), {}, {}).ok());
}

TEST_F(ProfileBuilderTest, RealProfileThroughGoPprofAgreesWithTable) {
  if (!ringprof::testing::HaveTool("go"))
    GTEST_SKIP() << "go not installed (golang-go): cannot run go tool pprof";
  formats::Sample deep = UserSample(
      1'500'000'000, {leaf_.file_offset + 4, middle_.file_offset + 8, main_.file_offset + 8});
  formats::Sample shallow =
      UserSample(1'500'000'000, {middle_.file_offset + 8, main_.file_offset + 8});
  deep.kernel_ips = {0xffffffff81001010};
  rec_.samples = {deep, deep, deep, shallow};
  absl::StatusOr<formats::Profile> p = Build();
  ASSERT_TRUE(p.ok()) << p.status();
  ringprof::testing::TempDir dir;
  std::string file = dir.File("p.pb.gz");
  ASSERT_TRUE(formats::WritePprof(*p, file).ok());
  ringprof::testing::RunResult raw = ringprof::testing::GoPprof(dir, {"-raw", file});
  ASSERT_EQ(raw.status, 0) << raw.err;
  ringprof::testing::RunResult top = ringprof::testing::GoPprof(dir, {"-top", file});
  ASSERT_EQ(top.status, 0) << top.err;
  FunctionTable t = ComputeFunctionTable(*p);
  ASSERT_TRUE(SortTable(t, "self").ok());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(top.out, m, std::regex(R"(of (\d+) total)"))) << top.out;
  EXPECT_EQ(std::stoll(m[1]), t.sums[0]);
  EXPECT_EQ(t.sums[0], 4);
  ASSERT_TRUE(std::regex_search(
      top.out, m, std::regex(R"(flat%[^\n]*\n\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+))")))
      << top.out;
  EXPECT_EQ(m[1], t.rows[0].name) << top.out;
  EXPECT_EQ(t.rows[0].name, "do_syscall_64");
}

TEST_F(ProfileBuilderTest, CounterTypesAndScalingReachTheReportHeader) {
  rec_.counters = {{.name = "page-faults", .type = 1, .config = 2, .unit = "count"},
                   {.name = "instructions", .type = 0, .config = 1, .unit = "count"}};
  rec_.counter_scaling = {{.time_enabled_ns = 2000, .time_running_ns = 2000},
                          {.time_enabled_ns = 2000, .time_running_ns = 500}};
  formats::Sample s = UserSample(1'500'000'000, {leaf_.file_offset + 4});
  s.counter_deltas = {3, 1000};
  rec_.samples = {s, s};
  absl::StatusOr<formats::Profile> p = Build();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->counter_types, (std::vector<std::string>{"page-faults", "instructions"}));
  EXPECT_EQ(p->counter_scaling, rec_.counter_scaling);
  // pprof comments and the flame graph's summary carry the scaling too.
  EXPECT_THAT(p->comments,
              ::testing::Contains("counter instructions: scaled: running 25.0% of enabled time"));
  absl::StatusOr<std::string> text = FormatReport(*p, {});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, ::testing::ContainsRegex(
                         "\n  page-faults +6  not scaled: running 100.0% of enabled time\n"));
  EXPECT_THAT(*text, ::testing::ContainsRegex(
                         "\n  instructions +2000  scaled: running 25.0% of enabled time\n"));
  // A recording without a scaling summary says so instead of guessing.
  rec_.counter_scaling.clear();
  p = Build();
  ASSERT_TRUE(p.ok());
  text = FormatReport(*p, {});
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("scaling not recorded"));
}

// One pprof sample type per counter, and `go tool pprof -sample_index=NAME
// -top` agrees with the table sorted by NAME for each of them. The stacks
// are chosen so each column has a different top function.
TEST_F(ProfileBuilderTest, GoPprofSampleIndexPerCounterAgreesWithTable) {
  if (!ringprof::testing::HaveTool("go"))
    GTEST_SKIP() << "go not installed (golang-go): cannot run go tool pprof";
  rec_.counters = {{.name = "page-faults", .type = 1, .config = 2, .unit = "count"},
                   {.name = "instructions", .type = 0, .config = 1, .unit = "count"}};
  formats::Sample leaf = UserSample(
      1'500'000'000, {leaf_.file_offset + 4, middle_.file_offset + 8, main_.file_offset + 8});
  leaf.counter_deltas = {50, 10};  // page faults land in rp_leaf
  formats::Sample middle =
      UserSample(1'500'000'000, {middle_.file_offset + 8, main_.file_offset + 8});
  middle.counter_deltas = {1, 5000};  // instructions in rp_middle
  formats::Sample in_main = UserSample(1'500'000'000, {main_.file_offset + 8});
  in_main.counter_deltas = {0, 1};  // most samples in main
  rec_.samples = {leaf, middle, in_main, in_main, in_main, in_main};
  absl::StatusOr<formats::Profile> p = Build();
  ASSERT_TRUE(p.ok()) << p.status();
  ringprof::testing::TempDir dir;
  std::string file = dir.File("c.pb.gz");
  ASSERT_TRUE(formats::WritePprof(*p, file).ok());
  ringprof::testing::RunResult raw = ringprof::testing::GoPprof(dir, {"-raw", file});
  ASSERT_EQ(raw.status, 0) << raw.err;
  EXPECT_THAT(raw.out, HasSubstr("PeriodType: cpu-clock nanoseconds"));
  EXPECT_THAT(raw.out, HasSubstr("Period: 1000000"));
  EXPECT_THAT(raw.out, HasSubstr("samples/count[dflt] cpu-clock/nanoseconds page-faults/count "
                                 "instructions/count"));

  FunctionTable t = ComputeFunctionTable(*p);
  // rp_middle's leaf address may sit in its inlined copy of rp_inlined.
  std::map<std::string, std::set<std::string>> want = {
      {"samples", {"main"}},
      {"page-faults", {"rp_leaf"}},
      {"instructions", {"rp_middle", "rp_inlined"}}};
  for (const auto& [index, top_function] : want) {
    ringprof::testing::RunResult top =
        ringprof::testing::GoPprof(dir, {"-top", "-sample_index=" + index, file});
    ASSERT_EQ(top.status, 0) << top.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        top.out, m, std::regex(R"(flat%[^\n]*\n\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+))")))
        << top.out;
    ASSERT_TRUE(SortTable(t, index == "samples" ? "self" : index).ok());
    EXPECT_EQ(m[1], t.rows[0].name) << index << "\n" << top.out;
    EXPECT_TRUE(top_function.contains(t.rows[0].name)) << index << ": " << t.rows[0].name;
    ASSERT_TRUE(std::regex_search(top.out, m, std::regex(R"(of (\d+) total)"))) << top.out;
    size_t col = 0;
    while (t.value_types[col].type != index) ++col;
    EXPECT_EQ(std::stoll(m[1]), t.sums[col]) << index;
  }
}

}  // namespace
}  // namespace ringprof::report
