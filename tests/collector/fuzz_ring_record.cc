// libFuzzer target: the BPF ring record decoder must never read out of
// bounds or crash, and what it calls a sample must be self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "collector/ring_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ringprof::collector::RingSample s;
  const auto status = ringprof::collector::DecodeRingRecord(absl::MakeConstSpan(data, size), 4, &s);
  if (status == ringprof::collector::RingRecordStatus::kSample) {
    const size_t words = size_t{s.n_kernel} + s.n_user + 3 * size_t{s.n_counters};
    if (ringprof::collector::kRingSampleHeaderBytes + 8 * words != size) std::abort();
    if (s.event_index >= 4) std::abort();
  }
  ringprof::collector::RingUserStack us;
  if (ringprof::collector::DecodeRingUserStack(absl::MakeConstSpan(data, size), &us) ==
      ringprof::collector::RingRecordStatus::kUserStack) {
    if (us.stack.size() > RP_USER_STACK_BYTES) std::abort();
    if (us.stack.data() + us.stack.size() != data + size) std::abort();
  }
  return 0;
}
