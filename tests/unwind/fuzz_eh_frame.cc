// libFuzzer target for the .eh_frame converter.
//
// The first input byte picks the mode:
//   even: the rest is a whole ELF image (seed with small binaries);
//   odd:  the rest is the contents of an .eh_frame section, wrapped here in
//         a minimal x86-64 ELF (no .eh_frame_hdr, so libdw scans the section
//         itself). Mutations then land in CIE/FDE bytes instead of ELF
//         headers, which is where the converter's own decoding lives.
// Both must return a table or an error, never crash or hang.
#include <elf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/types/span.h"
#include "tests/unwind/eh_frame_synth.h"
#include "unwind/eh_frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ringprof::unwind::EhFrameStats stats;
  if (data[0] & 1) {
    std::vector<uint8_t> image = ringprof::unwind::ehsynth::WrapEhFrame(data + 1, size - 1);
    (void)ringprof::unwind::BuildTableFromEhFrameImage(image, &stats);
  } else {
    (void)ringprof::unwind::BuildTableFromEhFrameImage(absl::MakeConstSpan(data + 1, size - 1),
                                                       &stats);
  }
  return 0;
}
