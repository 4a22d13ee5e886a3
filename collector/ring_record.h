// Decoding of the records the BPF programs write to the ring buffer
// (layouts in collector/bpf/sample_record.h). A pure function over one
// record's bytes: whatever the bytes, it reads nothing out of bounds and
// says what is wrong with a record instead of guessing. The collector
// counts every record that does not decode (LossStats::bad_ring_records)
// and every report shows the count. Fuzzed by
// tests/collector/fuzz_ring_record.cc.
#ifndef RINGPROF_COLLECTOR_RING_RECORD_H_
#define RINGPROF_COLLECTOR_RING_RECORD_H_

#include <array>
#include <cstdint>

#include "absl/types/span.h"
#include "collector/bpf/sample_record.h"

namespace ringprof::collector {

// What a record is, or why it is not a usable one.
enum class RingRecordStatus : uint8_t {
  kSample = 0,       // a whole rp_sample
  kShortHeader,      // fewer bytes than struct rp_record_header
  kSizeMismatch,     // header's size is not the record's length
  kUnknownType,      // a record type this collector does not know
  kShortSample,      // shorter than rp_sample's fixed fields
  kBadCounts,        // more frames or counters than the layout allows
  kLengthNotCounts,  // the length does not match the frame and counter counts
  kBadStopReason,    // user_stop outside enum rp_unwind_stop
  kBadEventIndex,    // event_index names no sampling event of the recording
  kUserStack,        // a whole rp_user_stack (DecodeRingUserStack)
  kShortUserStack,   // shorter than rp_user_stack's fixed fields
  kUserStackLength,  // len over RP_USER_STACK_BYTES, or not the record's length
};
inline constexpr int kRingRecordStatusCount = 12;

// A short name for messages ("size mismatch").
const char* RingRecordStatusName(RingRecordStatus status);

// Bytes of rp_sample before its data words.
inline constexpr size_t kRingSampleHeaderBytes = sizeof(rp_sample) - sizeof(rp_sample::data);

// A decoded sample. The words are copied out of the record (ring records
// need not be aligned for uint64_t when they are buffered), so a reader
// can keep one RingSample and decode into it again and again without
// allocating.
struct RingSample {
  uint64_t time_ns = 0;
  uint64_t period = 0;
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint32_t cpu = 0;
  uint32_t flags = 0;  // RP_SAMPLE_*
  uint16_t event_index = 0;
  uint8_t user_methods = 0;  // RP_UNWOUND_*
  uint8_t user_stop = 0;     // enum rp_unwind_stop
  uint16_t n_kernel = 0;
  uint16_t n_user = 0;
  uint16_t n_counters = 0;
  std::array<uint64_t, 2 * RP_MAX_STACK_DEPTH + 3 * RP_MAX_COUNTERS> words{};

  absl::Span<const uint64_t> kernel_ips() const { return {words.data(), n_kernel}; }
  absl::Span<const uint64_t> user_ips() const { return {words.data() + n_kernel, n_user}; }
  // Counter i: its count, enabled and running time since the task's
  // previous sample.
  uint64_t counter_value(size_t i) const { return words[n_kernel + n_user + i]; }
  uint64_t counter_enabled(size_t i) const { return words[n_kernel + n_user + n_counters + i]; }
  uint64_t counter_running(size_t i) const { return words[n_kernel + n_user + 2 * n_counters + i]; }
};

// A decoded rp_user_stack: the registers where a deferred walk stopped and
// a view of the stack copied from `sp` (into the record's bytes: valid as
// long as they are).
struct RingUserStack {
  uint64_t time_ns = 0;
  uint32_t tid = 0;
  uint32_t cpu = 0;
  uint64_t pc = 0;
  uint64_t sp = 0;
  uint64_t fp = 0;
  uint32_t frame = 0;       // index of the frame, in the sample's user frames
  bool regs_valid = false;  // regs holds every user register (frame 0 only)
  std::array<uint64_t, RP_USER_STACK_REGS> regs{};  // by PERF_REG_X86_* index
  absl::Span<const uint8_t> stack;
};

// Bytes of rp_user_stack before its copy.
inline constexpr size_t kRingUserStackHeaderBytes =
    sizeof(rp_user_stack) - sizeof(rp_user_stack::bytes);

// The record's type field, or 0 when it is shorter than a header.
uint32_t RingRecordType(absl::Span<const uint8_t> bytes);

// Decodes one ring record of a recording with `n_events` sampling events.
// Returns kSample and fills *out for a whole sample; anything else leaves
// *out in an unspecified state. A user stack record gives kUserStack
// (decode it with DecodeRingUserStack).
RingRecordStatus DecodeRingRecord(absl::Span<const uint8_t> bytes, size_t n_events,
                                  RingSample* out);

// Decodes an RP_RECORD_USER_STACK record: kUserStack and *out, or why not.
RingRecordStatus DecodeRingUserStack(absl::Span<const uint8_t> bytes, RingUserStack* out);

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_RING_RECORD_H_
