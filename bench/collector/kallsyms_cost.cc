// What the kallsyms part of `ringprof record` costs, in a process of its
// own so that /usr/bin/time's max RSS is that part alone (docs/PERFORMANCE.md):
//
//   bench_kallsyms_cost none   OUT      the recording writer only (the floor)
//   bench_kallsyms_cost whole  OUT      what the recorder did before: read the
//                                       whole /proc/kallsyms and store it compressed
//   bench_kallsyms_cost subset OUT N    what it does now: index /proc/kallsyms and
//                                       store the symbols of N kernel IPs (spread
//                                       over the text symbols) with their followers
//
// Each prints its CPU time, max RSS and the bytes it wrote.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "collector/kernel_symbols.h"
#include "formats/recording.h"

namespace {

double Seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; }

// IPs inside text symbols, from a read of /proc/kallsyms before the measured
// part (every mode makes it, so the floor includes its memory).
std::vector<uint64_t> SomeKernelIps(size_t n) {
  std::vector<uint64_t> text;
  {
    std::ifstream in("/proc/kallsyms");
    std::string line;
    while (std::getline(in, line)) {
      uint64_t a = 0;
      if (line.size() > 19 && (line[17] == 't' || line[17] == 'T') &&
          absl::SimpleHexAtoi(line.substr(0, 16), &a) && a != 0) {
        text.push_back(a);
      }
    }
  }
  std::mt19937_64 rng(1);
  std::vector<uint64_t> ips;
  for (size_t i = 0; i < n && !text.empty(); ++i) {
    ips.push_back(text[rng() % text.size()] + 1 + rng() % 16);
  }
  return ips;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s none|whole|subset OUT [N]\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const size_t n = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 300;
  std::vector<uint64_t> ips = SomeKernelIps(n);
  rusage before;
  getrusage(RUSAGE_SELF, &before);
  auto writer = ringprof::formats::RecordingWriter::Create(argv[2]);
  if (!writer.ok()) {
    std::fprintf(stderr, "%s\n", std::string(writer.status().message()).c_str());
    return 1;
  }
  size_t symbols = 0, index_bytes = 0;
  if (mode == "whole") {
    // The recorder's old code: ReadWholeFile, then WriteKallsyms.
    std::ifstream in("/proc/kallsyms", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!(*writer)->WriteKallsyms(ss.str()).ok()) return 1;
  } else if (mode == "subset") {
    ringprof::collector::KallsymsIndex index(
        ringprof::collector::LiveKernelFiles(),
        [](const std::string& m) { std::fprintf(stderr, "warning: %s\n", m.c_str()); });
    // As the recorder does: a flush every 30 IPs.
    for (size_t i = 0; i < ips.size(); i += 30) {
      std::vector<uint64_t> batch(ips.begin() + i, ips.begin() + std::min(ips.size(), i + 30));
      std::string text = index.TakeNewSymbolsFor(batch);
      if (!text.empty() && !(*writer)->WriteKallsyms(text).ok()) return 1;
    }
    symbols = index.lines_stored();
    index_bytes = index.memory_bytes();
  } else if (mode != "none") {
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  if (!(*writer)->Finish({}, 1).ok()) return 1;
  rusage after;
  getrusage(RUSAGE_SELF, &after);
  std::printf(
      "%s: user %.1f ms, sys %.1f ms, max RSS %.1f MiB, wrote %llu bytes; %zu lines stored, index "
      "%.1f MiB\n",
      mode.c_str(), (Seconds(after.ru_utime) - Seconds(before.ru_utime)) * 1e3,
      (Seconds(after.ru_stime) - Seconds(before.ru_stime)) * 1e3, after.ru_maxrss / 1024.0,
      static_cast<unsigned long long>((*writer)->bytes_written()), symbols,
      index_bytes / 1048576.0);
  return 0;
}
