#include "collector/ring_record.h"

#include <cstddef>
#include <cstring>

namespace ringprof::collector {

const char* RingRecordStatusName(RingRecordStatus status) {
  switch (status) {
    case RingRecordStatus::kSample:
      return "sample";
    case RingRecordStatus::kShortHeader:
      return "shorter than a record header";
    case RingRecordStatus::kSizeMismatch:
      return "header size differs from the record length";
    case RingRecordStatus::kUnknownType:
      return "unknown record type";
    case RingRecordStatus::kShortSample:
      return "sample shorter than its fixed fields";
    case RingRecordStatus::kBadCounts:
      return "sample frame or counter count over the limit";
    case RingRecordStatus::kLengthNotCounts:
      return "sample length does not match its counts";
    case RingRecordStatus::kBadStopReason:
      return "sample with an unknown unwind stop reason";
    case RingRecordStatus::kBadEventIndex:
      return "sample of an unknown sampling event";
    case RingRecordStatus::kUserStack:
      return "user stack";
    case RingRecordStatus::kShortUserStack:
      return "user stack shorter than its fixed fields";
    case RingRecordStatus::kUserStackLength:
      return "user stack length over the limit or not the record's";
  }
  return "?";
}

uint32_t RingRecordType(absl::Span<const uint8_t> bytes) {
  rp_record_header h;
  if (bytes.size() < sizeof(h)) return 0;
  std::memcpy(&h, bytes.data(), sizeof(h));
  return h.type;
}

RingRecordStatus DecodeRingUserStack(absl::Span<const uint8_t> bytes, RingUserStack* out) {
  rp_record_header h;
  if (bytes.size() < sizeof(h)) return RingRecordStatus::kShortHeader;
  std::memcpy(&h, bytes.data(), sizeof(h));
  if (h.size != bytes.size()) return RingRecordStatus::kSizeMismatch;
  if (h.type != RP_RECORD_USER_STACK) return RingRecordStatus::kUnknownType;
  if (bytes.size() < kRingUserStackHeaderBytes) return RingRecordStatus::kShortUserStack;
  auto field = [&](size_t offset, auto* v) { std::memcpy(v, bytes.data() + offset, sizeof(*v)); };
  field(offsetof(rp_user_stack, time_ns), &out->time_ns);
  field(offsetof(rp_user_stack, tid), &out->tid);
  field(offsetof(rp_user_stack, cpu), &out->cpu);
  field(offsetof(rp_user_stack, pc), &out->pc);
  field(offsetof(rp_user_stack, sp), &out->sp);
  field(offsetof(rp_user_stack, fp), &out->fp);
  field(offsetof(rp_user_stack, frame), &out->frame);
  uint32_t regs_valid = 0;
  field(offsetof(rp_user_stack, regs_valid), &regs_valid);
  out->regs_valid = regs_valid != 0;
  std::memcpy(out->regs.data(), bytes.data() + offsetof(rp_user_stack, regs), sizeof(out->regs));
  uint32_t len = 0;
  field(offsetof(rp_user_stack, len), &len);
  if (len > RP_USER_STACK_BYTES || bytes.size() != kRingUserStackHeaderBytes + len) {
    return RingRecordStatus::kUserStackLength;
  }
  out->stack = bytes.subspan(kRingUserStackHeaderBytes, len);
  return RingRecordStatus::kUserStack;
}

RingRecordStatus DecodeRingRecord(absl::Span<const uint8_t> bytes, size_t n_events,
                                  RingSample* out) {
  rp_record_header h;
  if (bytes.size() < sizeof(h)) return RingRecordStatus::kShortHeader;
  std::memcpy(&h, bytes.data(), sizeof(h));
  if (h.size != bytes.size()) return RingRecordStatus::kSizeMismatch;
  if (h.type == RP_RECORD_USER_STACK) return RingRecordStatus::kUserStack;
  if (h.type != RP_RECORD_SAMPLE) return RingRecordStatus::kUnknownType;
  if (bytes.size() < kRingSampleHeaderBytes) return RingRecordStatus::kShortSample;
  // The fixed fields, read by their offsets in rp_sample.
  auto field = [&](size_t offset, auto* v) { std::memcpy(v, bytes.data() + offset, sizeof(*v)); };
  field(offsetof(rp_sample, time_ns), &out->time_ns);
  field(offsetof(rp_sample, period), &out->period);
  field(offsetof(rp_sample, pid), &out->pid);
  field(offsetof(rp_sample, tid), &out->tid);
  field(offsetof(rp_sample, cpu), &out->cpu);
  field(offsetof(rp_sample, flags), &out->flags);
  field(offsetof(rp_sample, n_kernel), &out->n_kernel);
  field(offsetof(rp_sample, n_user), &out->n_user);
  field(offsetof(rp_sample, n_counters), &out->n_counters);
  field(offsetof(rp_sample, event_index), &out->event_index);
  field(offsetof(rp_sample, user_methods), &out->user_methods);
  field(offsetof(rp_sample, user_stop), &out->user_stop);
  if (out->n_kernel > RP_MAX_STACK_DEPTH || out->n_user > RP_MAX_STACK_DEPTH ||
      out->n_counters > RP_MAX_COUNTERS) {
    return RingRecordStatus::kBadCounts;
  }
  const size_t n_words = size_t{out->n_kernel} + out->n_user + 3 * size_t{out->n_counters};
  if (bytes.size() != kRingSampleHeaderBytes + n_words * sizeof(uint64_t)) {
    return RingRecordStatus::kLengthNotCounts;
  }
  if (out->user_stop > RP_STOP_DEFERRED) return RingRecordStatus::kBadStopReason;
  if (out->event_index >= n_events) return RingRecordStatus::kBadEventIndex;
  std::memcpy(out->words.data(), bytes.data() + kRingSampleHeaderBytes, n_words * sizeof(uint64_t));
  return RingRecordStatus::kSample;
}

}  // namespace ringprof::collector
