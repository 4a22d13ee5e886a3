// Writes the golden recording (tests/formats/recording_golden.h) to the path
// given. Run it only when the format version changes, and commit the output
// as a new testdata/recording_v<N>_small.rpf next to the old one.
#include <cstdio>

#include "tests/formats/recording_golden.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT.rpf\n", argv[0]);
    return 2;
  }
  const absl::Status s = ringprof::formats::testing::WriteGoldenRecording(
      ringprof::formats::testing::GoldenRecording(), argv[1]);
  if (!s.ok()) {
    std::fprintf(stderr, "recording_golden_gen: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}
