// The counter-burst detector (report/counter_bursts.h): counts that come in
// runs of one or two samples between samples with none are flagged; counts
// spread over long runs, or too few samples to tell, are not.
#include "report/counter_bursts.h"

#include <vector>

#include "gtest/gtest.h"

namespace ringprof::report {
namespace {

// One task's samples, 1 ms apart, with these deltas of one counter.
std::vector<formats::Sample> Samples(const std::vector<uint64_t>& deltas, uint32_t tid = 7) {
  std::vector<formats::Sample> out;
  for (size_t i = 0; i < deltas.size(); ++i) {
    formats::Sample s;
    s.pid = 7;
    s.tid = tid;
    s.time_ns = 1'000'000 * (i + 1);
    s.counter_deltas = {deltas[i]};
    out.push_back(s);
  }
  return out;
}

std::vector<const formats::Sample*> Pointers(const std::vector<formats::Sample>& v) {
  std::vector<const formats::Sample*> out;
  for (const formats::Sample& s : v) out.push_back(&s);
  return out;
}

// `rounds` rounds of: a burst of `burst` samples carrying `per_sample`,
// then `gap` samples carrying `stray` (a stray count or none).
std::vector<uint64_t> Pattern(int rounds, int burst, uint64_t per_sample, int gap,
                              uint64_t stray = 0) {
  std::vector<uint64_t> d;
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < burst; ++i) d.push_back(per_sample);
    for (int i = 0; i < gap; ++i) d.push_back(stray);
  }
  return d;
}

TEST(CounterBursts, IsolatedBurstsAreFlagged) {
  // Faults of a phase shorter than a period: one sample in three carries
  // all of them; a stray fault now and then does not hide the pattern.
  const auto samples = Samples(Pattern(60, 1, 1024, 2, 1));
  const auto found = FindCounterBursts(Pointers(samples), 1);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].counter, 0u);
  EXPECT_GT(found[0].short_run_share, 0.9);
  EXPECT_EQ(found[0].active_samples, 60u);
  EXPECT_EQ(found[0].total, 60u * 1024 + 120);
  const std::string w = CounterBurstWarning(found[0], "page-faults", 100);
  EXPECT_NE(w.find("page-faults arrives in bursts shorter than the sampling period"),
            std::string::npos)
      << w;
  EXPECT_NE(w.find("ringprof record -e page-faults -c 100"), std::string::npos) << w;
}

TEST(CounterBursts, PairsOfSamplesStillCountAsShort) {
  const auto samples = Samples(Pattern(40, 2, 500, 3));
  EXPECT_EQ(FindCounterBursts(Pointers(samples), 1).size(), 1u);
}

TEST(CounterBursts, PhasesLongerThanAPeriodAreNotFlagged) {
  // The same counts spread over eight samples per phase: attribution holds.
  const auto samples = Samples(Pattern(20, 8, 128, 8));
  EXPECT_TRUE(FindCounterBursts(Pointers(samples), 1).empty());
  // A counter that advances at every sample (cycles on a busy loop).
  const auto steady = Samples(std::vector<uint64_t>(200, 3'000'000));
  EXPECT_TRUE(FindCounterBursts(Pointers(steady), 1).empty());
}

TEST(CounterBursts, TooFewSamplesSayNothing) {
  const auto samples = Samples(Pattern(kMinBurstEvidence - 1, 1, 1024, 2));
  EXPECT_TRUE(FindCounterBursts(Pointers(samples), 1).empty());
}

TEST(CounterBursts, RunsAreTakenPerTask) {
  // Two tasks whose samples interleave in time: each task's own sequence
  // has long runs, though in time order the deltas alternate.
  std::vector<formats::Sample> all = Samples(Pattern(10, 8, 100, 8), 1);
  std::vector<formats::Sample> other = Samples(Pattern(10, 8, 100, 8), 2);
  for (formats::Sample& s : other) s.time_ns += 500'000;
  all.insert(all.end(), other.begin(), other.end());
  EXPECT_TRUE(FindCounterBursts(Pointers(all), 1).empty());
}

TEST(CounterBursts, SamplesWithoutTheCounterAreIgnored) {
  std::vector<formats::Sample> samples = Samples(Pattern(60, 1, 1024, 2));
  for (formats::Sample& s : samples) s.counter_deltas.clear();
  EXPECT_TRUE(FindCounterBursts(Pointers(samples), 1).empty());
  EXPECT_TRUE(FindCounterBursts(Pointers(samples), 0).empty());
}

}  // namespace
}  // namespace ringprof::report
