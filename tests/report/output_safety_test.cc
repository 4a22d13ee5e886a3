// Names that are not text (a Latin-1 mapping path, a comm with control
// bytes) through every output: the profile model, pprof, SVG, folded
// stacks, the report table and the diff. And whole-or-absent output files
// for pprof profiles and graphs.
#include <gmock/gmock.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/atomic_file.h"
#include "formats/pprof.h"
#include "formats/profile.pb.h"
#include "report/diff.h"
#include "report/flamegraph.h"
#include "report/profile_builder.h"
#include "report/table.h"
#include "tests/base/fs_testing.h"
#include "tests/report/synthetic_profile.h"
#include "tests/report/test_tools.h"

namespace ringprof::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kStart = 0x555555554000;
constexpr uint32_t kCafeId = 3;  // the Latin-1 named copy of report_target
constexpr uint32_t kLibId = 4;   // a library that is not on this machine
constexpr uint32_t kPid = 200;

// Raw bytes, as the kernel reports them.
const std::string kCafeName = "caf\xe9";
const std::string kLibPath =
    "/nonexistent/li\xe9"
    "b\x01;\n.so";
const std::string kComm = "wor\x01ker\nx";
// The same, escaped (base/escape.h).
const std::string kCafeShown = "caf\\xe9";
const std::string kLibShown = "li\\xe9b\\x01;\\x0a.so";
const std::string kCommShown = "wor\\x01ker\\x0ax";

// Checked with protobuf's own UTF-8 validator, not ours.
bool ProtobufValidUtf8(const std::string& s) {
  return google::protobuf::internal::IsStructurallyValidUTF8(s.data(), static_cast<int>(s.size()));
}

// No control bytes but newline (and tab, for the SVG's script), and UTF-8.
bool PrintableLines(const std::string& s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return false;
  }
  return ProtobufValidUtf8(s);
}

// Collects what libprotobuf logs (it logs invalid UTF-8 when serializing).
std::vector<std::string>* g_protobuf_logs = nullptr;
void CaptureProtobufLog(google::protobuf::LogLevel, const char* file, int line,
                        const std::string& message) {
  if (g_protobuf_logs != nullptr)
    g_protobuf_logs->push_back(absl::StrCat(file, ":", line, ": ", message));
}

class ScopedProtobufLogCapture {
 public:
  explicit ScopedProtobufLogCapture(std::vector<std::string>* logs) {
    g_protobuf_logs = logs;
    old_ = google::protobuf::SetLogHandler(&CaptureProtobufLog);
  }
  ~ScopedProtobufLogCapture() {
    google::protobuf::SetLogHandler(old_);
    g_protobuf_logs = nullptr;
  }

 private:
  google::protobuf::LogHandler* old_ = nullptr;
};

std::string Gunzip(const std::string& gz) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return "";
  std::string out;
  char buf[1 << 14];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : "";
}

class OutputSafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    // report_target under a name that is not UTF-8: symbolizing must open
    // it by its raw path.
    cafe_path_ = dir_.File(kCafeName);
    std::filesystem::copy_file(RINGPROF_REPORT_TARGET, cafe_path_);
    auto leaf = ringprof::testing::FindFunction(cafe_path_, "rp_leaf");
    auto middle = ringprof::testing::FindFunction(cafe_path_, "rp_middle");
    auto main_fn = ringprof::testing::FindFunction(cafe_path_, "main");
    ASSERT_TRUE(leaf && middle && main_fn);
    absl::StatusOr<std::string> build_id = symbolizer::ReadBuildId(cafe_path_);
    ASSERT_TRUE(build_id.ok()) << build_id.status();

    rec_.events = {{.name = "cpu-clock",
                    .type = 1,
                    .config = 0,
                    .freq = false,
                    .sample_freq_or_period = 1000000,
                    .unit = "nanoseconds"}};
    rec_.start_time_ns = 1'000'000'000;
    rec_.end_time_ns = 2'000'000'000;
    rec_.meta["command"] = "./" + kCafeName + " --x=\x1b[31m";
    rec_.mappings = {{.id = kCafeId,
                      .pid = kPid,
                      .start = kStart,
                      .end = kStart + 0x10000,
                      .pgoff = 0,
                      .prot = 5,
                      .build_id = *build_id,
                      .path = cafe_path_},
                     {.id = kLibId,
                      .pid = kPid,
                      .start = 0x7f0000000000,
                      .end = 0x7f0000010000,
                      .pgoff = 0,
                      .prot = 5,
                      .build_id = "",
                      .path = kLibPath}};
    rec_.tasks = {{.kind = formats::TaskEventKind::kComm,
                   .time_ns = 0,
                   .pid = kPid,
                   .tid = kPid,
                   .comm = kComm}};
    auto sample = [&](std::vector<formats::UserFrame> frames) {
      formats::Sample s;
      s.time_ns = 1'500'000'000;
      s.pid = kPid;
      s.tid = kPid;
      s.period = 1000000;
      s.user_frames = std::move(frames);
      return s;
    };
    const formats::Sample deep = sample({{kCafeId, leaf->file_offset + 4},
                                         {kCafeId, middle->file_offset + 8},
                                         {kCafeId, main_fn->file_offset + 8}});
    // The library's frame is a leaf, named by offset since it cannot be
    // symbolized.
    const formats::Sample lib = sample({{kLibId, 0x10}, {kCafeId, main_fn->file_offset + 8}});
    rec_.samples = {deep, deep, lib};

    symbolizer::Symbolizer sym(symbolizer::SymbolizerOptions{});
    absl::StatusOr<formats::Profile> p = BuildProfile(rec_, sym, {});
    ASSERT_TRUE(p.ok()) << p.status();
    profile_ = *std::move(p);
  }

  bool HasFunction(const std::string& name) const {
    for (const auto& f : profile_.functions)
      if (f.name == name) return true;
    return false;
  }

  ringprof::testing::TempDir dir_;
  std::string cafe_path_;
  formats::Recording rec_;
  formats::Profile profile_;
};

TEST_F(OutputSafetyTest, BuilderEscapesNamesButSymbolizesThroughTheRawPath) {
  // Symbolized: the file was opened by its raw name.
  EXPECT_TRUE(HasFunction("rp_leaf"));
  EXPECT_TRUE(HasFunction("main"));
  EXPECT_TRUE(HasFunction(kLibShown + "+0x10"));
  std::set<std::string> mappings;
  for (const auto& m : profile_.mappings) mappings.insert(m.filename);
  EXPECT_TRUE(mappings.contains(dir_.File(kCafeShown)));
  EXPECT_TRUE(mappings.contains("/nonexistent/" + kLibShown));
  ASSERT_FALSE(profile_.samples.empty());
  std::set<std::string> comms;
  for (const auto& s : profile_.samples) {
    for (const auto& l : s.labels)
      if (l.key == "comm") comms.insert(l.str);
  }
  EXPECT_EQ(comms, std::set<std::string>{kCommShown});
  EXPECT_THAT(profile_.comments,
              ::testing::Contains("command: ./" + kCafeShown + " --x=\\x1b[31m"));

  // Every string of the model is printable text.
  std::vector<std::string> all;
  for (const auto& f : profile_.functions)
    all.insert(all.end(), {f.name, f.system_name, f.filename});
  for (const auto& m : profile_.mappings) all.push_back(m.filename);
  for (const auto& s : profile_.samples)
    for (const auto& l : s.labels) all.insert(all.end(), {l.key, l.str});
  all.insert(all.end(), profile_.comments.begin(), profile_.comments.end());
  for (const std::string& s : all) {
    EXPECT_TRUE(ProtobufValidUtf8(s)) << s;
    EXPECT_EQ(s.find_first_of(std::string("\0\x01\n\x1b\x7f", 5)), std::string::npos) << s;
  }

  // The --comm filter takes the raw comm, as the kernel reports it.
  symbolizer::Symbolizer sym(symbolizer::SymbolizerOptions{});
  absl::StatusOr<formats::Profile> only = BuildProfile(rec_, sym, {.comm = kComm});
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(only->samples.size(), profile_.samples.size());
}

TEST_F(OutputSafetyTest, PprofStringsAreValidUtf8AndProtobufLogsNothing) {
  std::vector<std::string> logs;
  absl::StatusOr<std::string> raw;
  pprof::Profile parsed;
  bool parsed_ok = false;
  {
    ScopedProtobufLogCapture capture(&logs);
    raw = formats::EncodePprof(profile_);
    ASSERT_TRUE(raw.ok()) << raw.status();
    parsed_ok = parsed.ParseFromString(*raw);
  }
  EXPECT_THAT(logs, ::testing::IsEmpty());
  ASSERT_TRUE(parsed_ok) << "protobuf rejects the profile's strings";
  std::set<std::string> strings;
  for (const std::string& s : parsed.string_table()) {
    EXPECT_TRUE(ProtobufValidUtf8(s)) << s;
    strings.insert(s);
  }
  EXPECT_TRUE(strings.contains(dir_.File(kCafeShown)));
  EXPECT_TRUE(strings.contains(kCommShown));
  EXPECT_TRUE(strings.contains(kLibShown + "+0x10"));

  // A Profile made by hand, not by BuildProfile: the encoder escapes it.
  formats::Profile hand = ringprof::testing::SyntheticProfile("caf\xe9\x01");
  hand.samples[0].labels[1].str = "bad\xff";
  logs.clear();
  {
    ScopedProtobufLogCapture capture(&logs);
    raw = formats::EncodePprof(hand);
    ASSERT_TRUE(raw.ok());
    parsed_ok = parsed.ParseFromString(*raw);
  }
  EXPECT_THAT(logs, ::testing::IsEmpty());
  ASSERT_TRUE(parsed_ok);
  strings.clear();
  strings.insert(parsed.string_table().begin(), parsed.string_table().end());
  EXPECT_TRUE(strings.contains("caf\\xe9\\x01"));
  EXPECT_TRUE(strings.contains("bad\\xff"));

  // And what WritePprof writes is the same, gzipped.
  const std::string file = dir_.File("p.pb.gz");
  ASSERT_TRUE(formats::WritePprof(profile_, file).ok());
  ASSERT_TRUE(parsed.ParseFromString(Gunzip(ringprof::testing::ReadFile(file))));
}

TEST_F(OutputSafetyTest, SvgIsWellFormedXmlAndShowsEscapedNames) {
  FlameGraphOptions o;
  o.min_width = 0;
  o.title = "T\x01 " + kCafeName;
  absl::StatusOr<std::string> svg = RenderFlameGraphSvg(profile_, o);
  ASSERT_TRUE(svg.ok()) << svg.status();
  EXPECT_TRUE(PrintableLines(*svg));
  EXPECT_THAT(*svg, HasSubstr(kLibShown + "+0x10"));
  EXPECT_THAT(*svg, HasSubstr("T\\x01 " + kCafeShown));
  EXPECT_THAT(*svg, HasSubstr("command: ./" + kCafeShown));
  if (!ringprof::testing::HaveTool("xmllint"))
    GTEST_SKIP() << "xmllint not installed (libxml2-utils)";
  const std::string path = dir_.File("g.svg");
  ASSERT_TRUE(ringprof::testing::WriteFile(path, *svg));
  ringprof::testing::RunResult r = ringprof::testing::RunCommand({"xmllint", "--noout", path});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out + r.err, "");
}

TEST_F(OutputSafetyTest, FoldedHasExactlyOneLinePerStack) {
  absl::StatusOr<std::string> folded = FoldedStacks(profile_, "");
  ASSERT_TRUE(folded.ok()) << folded.status();
  EXPECT_TRUE(PrintableLines(*folded));
  std::vector<std::string> lines = absl::StrSplit(*folded, '\n', absl::SkipEmpty());
  // Two stacks: main -> ... -> rp_leaf (twice), and main -> the library.
  ASSERT_EQ(lines.size(), 2u) << *folded;
  const std::regex line_re("[^ ;]+(;[^;]+)* [0-9]+");
  for (const std::string& l : lines) EXPECT_TRUE(std::regex_match(l, line_re)) << l;
  // ';' in a name cannot split a frame; the newline is escaped.
  EXPECT_THAT(lines, ::testing::Contains("main;li\\xe9b\\x01:\\x0a.so+0x10 1"));
  EXPECT_THAT(lines, ::testing::Contains(::testing::EndsWith(";rp_leaf 2")));
}

TEST_F(OutputSafetyTest, ReportTableAndSummaryAreSafeOnATerminal) {
  absl::StatusOr<std::string> text = FormatReport(profile_, {});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_TRUE(PrintableLines(*text));
  EXPECT_THAT(*text, HasSubstr(absl::StrCat(kPid, " ", kCommShown)));
  EXPECT_THAT(*text, HasSubstr(kLibShown + "+0x10"));

  // A hand-made profile's names are escaped by the table itself.
  absl::StatusOr<std::string> hand =
      FormatReport(ringprof::testing::SyntheticProfile("x\x1b[2Jy\xe9"), {});
  ASSERT_TRUE(hand.ok());
  EXPECT_THAT(*hand, HasSubstr("x\\x1b[2Jy\\xe9"));
}

TEST_F(OutputSafetyTest, DiffGraphAndFoldedAreSafe) {
  absl::StatusOr<std::string> folded = DiffFoldedStacks(profile_, profile_, "");
  ASSERT_TRUE(folded.ok()) << folded.status();
  EXPECT_TRUE(PrintableLines(*folded));
  std::vector<std::string> lines = absl::StrSplit(*folded, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << *folded;
  EXPECT_THAT(lines, ::testing::Contains("main;li\\xe9b\\x01:\\x0a.so+0x10 1 1"));

  DiffGraphOptions o;
  o.graph.min_width = 0;
  o.base_label = dir_.File(kCafeName + ".rpf");
  o.new_label = "new\x01.rpf";
  absl::StatusOr<std::string> svg = RenderDiffFlameGraphSvg(profile_, profile_, o);
  ASSERT_TRUE(svg.ok()) << svg.status();
  EXPECT_TRUE(PrintableLines(*svg));
  EXPECT_THAT(*svg, HasSubstr(kCafeShown + ".rpf"));
  EXPECT_THAT(*svg, HasSubstr("new\\x01.rpf"));
  if (!ringprof::testing::HaveTool("xmllint"))
    GTEST_SKIP() << "xmllint not installed (libxml2-utils)";
  const std::string path = dir_.File("d.svg");
  ASSERT_TRUE(ringprof::testing::WriteFile(path, *svg));
  ringprof::testing::RunResult r = ringprof::testing::RunCommand({"xmllint", "--noout", path});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
}

TEST(PprofFileTest, ProfilesArePrivateAndReplacedWhole) {
  ringprof::testing::TempDir dir;
  const mode_t old_mask = ::umask(022);
  const std::string file = dir.File("p.pb.gz");
  absl::Status s = formats::WritePprof(ringprof::testing::SyntheticProfile(), file);
  ::umask(old_mask);
  ASSERT_TRUE(s.ok()) << s;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);  // raw kernel addresses
  EXPECT_THAT(ringprof::testing::ListDir(dir.path()), ::testing::ElementsAre("p.pb.gz"));
}

// A profile whose pprof file and flame graph are far over 64 KiB: names
// that do not compress, one root frame each.
formats::Profile LargeProfile() {
  formats::Profile p = ringprof::testing::SyntheticProfile();
  uint64_t x = 0x2545F4914F6CDD1Dull;
  for (uint64_t i = 0; i < 20000; ++i) {
    std::string name;
    for (int k = 0; k < 4; ++k) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      absl::StrAppend(&name, absl::Hex(x, absl::kZeroPad16));
    }
    p.functions.push_back({100 + i, name, name, "", 0});
    p.locations.push_back({100 + i, 1, 0x2000 + i, {{100 + i, 1}}});
    p.samples.push_back({{100 + i}, {1, 1}, {}});
  }
  return p;
}

TEST(FullDiskTest, PprofAndSvgFailWithEnospcAndLeaveNoPartialFile) {
  ringprof::testing::TmpfsMount disk("size=64k,mode=0755");
  if (disk.dir().empty()) GTEST_SKIP() << disk.reason();
  const formats::Profile big = LargeProfile();
  ASSERT_TRUE(ringprof::testing::WriteSmallFile(disk.File("old.pb.gz"), "old profile"));

  absl::Status s = formats::WritePprof(big, disk.File("new.pb.gz"));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("writing " + disk.File("new.pb.gz") +
                                     ": No space left on device (errno 28)"));
  s = formats::WritePprof(big, disk.File("old.pb.gz"));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("No space left on device"));
  const std::string old_content = ringprof::testing::ReadFile(disk.File("old.pb.gz"));
  EXPECT_TRUE(old_content == "old profile")
      << "old.pb.gz was replaced by " << old_content.size() << " bytes";

  FlameGraphOptions o;
  o.min_width = 0;
  absl::StatusOr<std::string> svg = RenderFlameGraphSvg(big, o);
  ASSERT_TRUE(svg.ok());
  ASSERT_GT(svg->size(), 1u << 20);
  s = WriteOutput(disk.File("g.svg"), *svg);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(),
              HasSubstr("writing " + disk.File("g.svg") + ": No space left on device (errno 28)"));
  // Only the old file: no partial profile or graph, no temporary file.
  EXPECT_THAT(ringprof::testing::ListDir(disk.dir()), ::testing::ElementsAre("old.pb.gz"));
}

}  // namespace
}  // namespace ringprof::report
