// Writes the version 2 golden recordings (tests/formats/recording_golden.h)
// into the directory given. Run it only when the format version changes,
// and commit the output next to the older versions' files, which stay:
//
//   build/tests/formats/recording_golden_gen tests/formats/testdata
//
// With --fuzz-seeds DIR it writes fuzz seeds made from them instead (see
// tests/formats/fuzz_recording.cc).
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "tests/formats/recording_golden.h"

namespace {

bool Write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  if (!out) std::fprintf(stderr, "recording_golden_gen: cannot write %s\n", path.c_str());
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  const bool seeds = argc == 3 && std::strcmp(argv[1], "--fuzz-seeds") == 0;
  if (argc != 2 && !seeds) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR | --fuzz-seeds OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[argc - 1];
  auto files = ringprof::formats::testing::GoldenV2Files(dir);
  if (!files.ok()) {
    std::fprintf(stderr, "recording_golden_gen: %s\n",
                 std::string(files.status().message()).c_str());
    return 1;
  }
  for (const auto& [name, bytes] : *files) {
    if (!seeds) {
      if (!Write(dir + "/" + name, bytes)) return 1;
      continue;
    }
    // Seeds: each golden file ("golden_v2_..." names), and the small one cut
    // inside a v2 chunk header and inside a payload.
    std::string seed_name = "golden_v2_" + name.substr(std::strlen("recording_v2_"));
    if (!Write(dir + "/" + seed_name, bytes)) return 1;
    if (name == "recording_v2_small.rpf") {
      const auto chunks = ringprof::formats::testing::ChunksOf(bytes);
      if (chunks.size() < 2) return 1;
      if (!Write(dir + "/v2_cut_inside_chunk_header.rpf", bytes.substr(0, chunks[1].offset + 13)) ||
          !Write(dir + "/v2_cut_inside_payload.rpf", bytes.substr(0, chunks[1].offset + 30))) {
        return 1;
      }
    }
  }
  return 0;
}
