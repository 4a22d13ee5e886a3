// libFuzzer target: the perf side-band record parser must never read out of
// bounds or crash, whatever the bytes.
#include <cstddef>
#include <cstdint>

#include "collector/sideband.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = ringprof::collector::ParseSidebandRecord(absl::MakeConstSpan(data, size));
  (void)r;
  return 0;
}
