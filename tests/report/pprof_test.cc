#include "formats/pprof.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <regex>

#include "formats/profile.pb.h"
#include "report/table.h"
#include "tests/report/synthetic_profile.h"
#include "tests/report/test_tools.h"

namespace ringprof::formats {
namespace {

using ::testing::HasSubstr;

TEST(PprofTest, EncodesFieldsAndInternsStrings) {
  Profile p = ringprof::testing::SyntheticProfile();
  p.comments = {"hello"};
  absl::StatusOr<std::string> bytes = EncodePprof(p);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  pprof::Profile out;
  ASSERT_TRUE(out.ParseFromString(*bytes));
  ASSERT_GT(out.string_table_size(), 0);
  EXPECT_EQ(out.string_table(0), "");
  auto str = [&](int64_t i) { return out.string_table(static_cast<int>(i)); };
  ASSERT_EQ(out.sample_type_size(), 2);
  EXPECT_EQ(str(out.sample_type(1).type()), "cpu-clock");
  EXPECT_EQ(str(out.sample_type(1).unit()), "nanoseconds");
  EXPECT_EQ(str(out.default_sample_type()), "samples");
  EXPECT_EQ(str(out.period_type().type()), "cpu-clock");
  EXPECT_EQ(out.period(), 10);
  ASSERT_EQ(out.sample_size(), 4);
  EXPECT_THAT(out.sample(0).location_id(), ::testing::ElementsAre(12, 11, 10));
  EXPECT_THAT(out.sample(0).value(), ::testing::ElementsAre(3, 300));
  EXPECT_EQ(str(out.sample(0).label(0).key()), "pid");
  EXPECT_EQ(out.sample(0).label(0).num(), 42);
  EXPECT_EQ(str(out.sample(0).label(1).str()), "synth");
  ASSERT_EQ(out.location_size(), 5);
  EXPECT_EQ(out.location(3).line_size(), 2);
  EXPECT_EQ(out.location(3).line(0).function_id(), 4u);  // innermost first
  EXPECT_TRUE(out.mapping(0).has_functions());
  EXPECT_TRUE(out.mapping(0).has_inline_frames());
  EXPECT_EQ(str(out.mapping(0).build_id()), "abcdef");
  EXPECT_EQ(str(out.comment(0)), "hello");
  // Every string once.
  std::set<std::string> unique(out.string_table().begin(), out.string_table().end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(out.string_table_size()));
}

TEST(PprofTest, RejectsWhatPprofRejects) {
  Profile p = ringprof::testing::SyntheticProfile();
  p.locations[1].id = p.locations[0].id;
  EXPECT_THAT(EncodePprof(p).status().message(), HasSubstr("duplicated"));
  p = ringprof::testing::SyntheticProfile();
  p.locations[0].lines[0].function_id = 99;
  EXPECT_THAT(EncodePprof(p).status().message(), HasSubstr("missing function 99"));
  p = ringprof::testing::SyntheticProfile();
  p.samples[0].values.pop_back();
  EXPECT_THAT(EncodePprof(p).status().message(), HasSubstr("values"));
  p = ringprof::testing::SyntheticProfile();
  p.samples[0].location_ids.push_back(77);
  EXPECT_THAT(EncodePprof(p).status().message(), HasSubstr("missing location 77"));
}

TEST(PprofTest, GzipRoundTripAndWriteErrors) {
  absl::StatusOr<std::string> gz = EncodePprofGzip(ringprof::testing::SyntheticProfile());
  ASSERT_TRUE(gz.ok());
  ASSERT_GE(gz->size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[1]), 0x8b);
  z_stream zs{};
  ASSERT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string raw(1 << 16, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(gz->data());
  zs.avail_in = static_cast<uInt>(gz->size());
  zs.next_out = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_out = static_cast<uInt>(raw.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  raw.resize(zs.total_out);
  inflateEnd(&zs);
  EXPECT_EQ(raw, *EncodePprof(ringprof::testing::SyntheticProfile()));

  absl::Status s = WritePprof(ringprof::testing::SyntheticProfile(), "/nonexistent-dir/x.pb.gz");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("/nonexistent-dir/x.pb.gz"));
  EXPECT_THAT(s.message(), HasSubstr("errno 2"));
}

// `go tool pprof` is the real client: it must parse the file, and its -top
// must agree with our table on the top function and the total.
TEST(PprofTest, GoToolPprofReadsItAndAgreesWithTable) {
  if (!ringprof::testing::HaveTool("go"))
    GTEST_SKIP() << "go not installed (golang-go): cannot run go tool pprof";
  ringprof::testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  Profile p = ringprof::testing::SyntheticProfile();
  std::string path = dir.File("synthetic.pb.gz");
  ASSERT_TRUE(WritePprof(p, path).ok());

  ringprof::testing::RunResult raw = ringprof::testing::GoPprof(dir, {"-raw", path});
  ASSERT_EQ(raw.status, 0) << raw.err;
  EXPECT_THAT(raw.out, HasSubstr("samples/count[dflt] cpu-clock/nanoseconds"));

  report::FunctionTable table = report::ComputeFunctionTable(p);
  ASSERT_TRUE(report::SortTable(table, "self").ok());
  for (const std::string& index : {std::string("samples"), std::string("cpu-clock")}) {
    ringprof::testing::RunResult top =
        ringprof::testing::GoPprof(dir, {"-top", "-sample_index=" + index, path});
    ASSERT_EQ(top.status, 0) << top.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(top.out, m, std::regex(R"(of (\d+)(ns)? total)"))) << top.out;
    size_t col = index == "samples" ? 0 : 1;
    EXPECT_EQ(std::stoll(m[1]), table.sums[col]) << top.out;
    ASSERT_TRUE(report::SortTable(table, index == "samples" ? "self" : index).ok());
    ASSERT_TRUE(std::regex_search(
        top.out, m, std::regex(R"(flat%[^\n]*\n\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+))")))
        << top.out;
    EXPECT_EQ(m[1], table.rows[0].name) << top.out;
  }
}

}  // namespace
}  // namespace ringprof::formats
