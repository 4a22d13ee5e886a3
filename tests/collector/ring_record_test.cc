// The BPF ring record decoder (collector/ring_record.h): whole samples
// decode field by field; every kind of bad record is named, never turned
// into a sample.
#include "collector/ring_record.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace ringprof::collector {
namespace {

// A record as the BPF program writes it: the fixed fields, then nk kernel
// IPs, nu user IPs and nc counter triples, cut after them.
std::vector<uint8_t> SampleBytes(uint16_t nk, uint16_t nu, uint16_t nc) {
  rp_sample s;
  std::memset(&s, 0, sizeof(s));
  s.hdr.type = RP_RECORD_SAMPLE;
  s.time_ns = 123456789;
  s.period = 1000;
  s.pid = 42;
  s.tid = 43;
  s.cpu = 1;
  s.flags = RP_SAMPLE_IN_KERNEL;
  s.n_kernel = nk;
  s.n_user = nu;
  s.n_counters = nc;
  s.event_index = 1;
  s.user_methods = RP_UNWOUND_EHFRAME;
  s.user_stop = RP_STOP_END;
  size_t w = 0;
  for (uint16_t i = 0; i < nk; ++i) s.data[w++] = 0xffffffff81000000ull + i;
  for (uint16_t i = 0; i < nu; ++i) s.data[w++] = 0x400000ull + i;
  for (uint16_t i = 0; i < 3 * nc; ++i) s.data[w++] = 1000 + i;
  const size_t size = kRingSampleHeaderBytes + w * sizeof(uint64_t);
  s.hdr.size = static_cast<uint32_t>(size);
  std::vector<uint8_t> out(size);
  std::memcpy(out.data(), &s, size);
  return out;
}

void SetSize(std::vector<uint8_t>& b, uint32_t size) {
  std::memcpy(b.data() + offsetof(rp_record_header, size), &size, sizeof(size));
}

template <typename T>
void SetField(std::vector<uint8_t>& b, size_t offset, T v) {
  std::memcpy(b.data() + offset, &v, sizeof(v));
}

TEST(RingRecord, WholeSampleDecodesEveryField) {
  const std::vector<uint8_t> b = SampleBytes(3, 5, 2);
  RingSample s;
  ASSERT_EQ(DecodeRingRecord(b, 2, &s), RingRecordStatus::kSample);
  EXPECT_EQ(s.time_ns, 123456789u);
  EXPECT_EQ(s.period, 1000u);
  EXPECT_EQ(s.pid, 42u);
  EXPECT_EQ(s.tid, 43u);
  EXPECT_EQ(s.cpu, 1u);
  EXPECT_EQ(s.flags, RP_SAMPLE_IN_KERNEL);
  EXPECT_EQ(s.event_index, 1u);
  EXPECT_EQ(s.user_methods, RP_UNWOUND_EHFRAME);
  EXPECT_EQ(s.user_stop, RP_STOP_END);
  ASSERT_EQ(s.kernel_ips().size(), 3u);
  EXPECT_EQ(s.kernel_ips()[2], 0xffffffff81000002ull);
  ASSERT_EQ(s.user_ips().size(), 5u);
  EXPECT_EQ(s.user_ips()[0], 0x400000ull);
  EXPECT_EQ(s.user_ips()[4], 0x400004ull);
  ASSERT_EQ(s.n_counters, 2u);
  EXPECT_EQ(s.counter_value(0), 1000u);
  EXPECT_EQ(s.counter_value(1), 1001u);
  EXPECT_EQ(s.counter_enabled(0), 1002u);
  EXPECT_EQ(s.counter_enabled(1), 1003u);
  EXPECT_EQ(s.counter_running(0), 1004u);
  EXPECT_EQ(s.counter_running(1), 1005u);
}

TEST(RingRecord, EmptyStacksAndTheLargestSampleDecode) {
  RingSample s;
  EXPECT_EQ(DecodeRingRecord(SampleBytes(0, 0, 0), 2, &s), RingRecordStatus::kSample);
  EXPECT_TRUE(s.kernel_ips().empty());
  EXPECT_TRUE(s.user_ips().empty());
  const std::vector<uint8_t> big =
      SampleBytes(RP_MAX_STACK_DEPTH, RP_MAX_STACK_DEPTH, RP_MAX_COUNTERS);
  EXPECT_EQ(big.size(), sizeof(rp_sample));
  ASSERT_EQ(DecodeRingRecord(big, 2, &s), RingRecordStatus::kSample);
  EXPECT_EQ(s.counter_running(RP_MAX_COUNTERS - 1), 1000u + 3 * RP_MAX_COUNTERS - 1);
}

TEST(RingRecord, UnalignedBytesDecode) {
  const std::vector<uint8_t> b = SampleBytes(2, 2, 1);
  std::vector<uint8_t> shifted(b.size() + 1);
  std::copy(b.begin(), b.end(), shifted.begin() + 1);
  RingSample s;
  ASSERT_EQ(DecodeRingRecord(absl::MakeConstSpan(shifted).subspan(1), 2, &s),
            RingRecordStatus::kSample);
  EXPECT_EQ(s.user_ips()[1], 0x400001ull);
}

TEST(RingRecord, BadRecordsAreNamedNotDecoded) {
  RingSample s;
  const std::vector<uint8_t> good = SampleBytes(4, 4, 1);
  // Shorter than a header.
  EXPECT_EQ(DecodeRingRecord(absl::MakeConstSpan(good).subspan(0, 7), 2, &s),
            RingRecordStatus::kShortHeader);
  EXPECT_EQ(DecodeRingRecord({}, 2, &s), RingRecordStatus::kShortHeader);
  // Cut: the header's size no longer matches.
  EXPECT_EQ(DecodeRingRecord(absl::MakeConstSpan(good).subspan(0, good.size() - 8), 2, &s),
            RingRecordStatus::kSizeMismatch);
  // A type this collector does not know.
  std::vector<uint8_t> b = good;
  SetField<uint32_t>(b, offsetof(rp_record_header, type), 2);
  EXPECT_EQ(DecodeRingRecord(b, 2, &s), RingRecordStatus::kUnknownType);
  // A sample cut inside its fixed fields, with a matching size.
  b.assign(good.begin(), good.begin() + 24);
  SetSize(b, 24);
  EXPECT_EQ(DecodeRingRecord(b, 2, &s), RingRecordStatus::kShortSample);
  // Counts over the layout's limits.
  b = good;
  SetField<uint16_t>(b, offsetof(rp_sample, n_kernel), RP_MAX_STACK_DEPTH + 1);
  EXPECT_EQ(DecodeRingRecord(b, 2, &s), RingRecordStatus::kBadCounts);
  b = good;
  SetField<uint16_t>(b, offsetof(rp_sample, n_counters), RP_MAX_COUNTERS + 1);
  EXPECT_EQ(DecodeRingRecord(b, 2, &s), RingRecordStatus::kBadCounts);
  // Counts that claim more (or fewer) words than the record carries: the
  // old decoder zero-filled these into bogus samples.
  b = good;
  SetField<uint16_t>(b, offsetof(rp_sample, n_user), 5);
  EXPECT_EQ(DecodeRingRecord(b, 2, &s), RingRecordStatus::kLengthNotCounts);
  b = good;
  SetField<uint16_t>(b, offsetof(rp_sample, n_user), 3);
  EXPECT_EQ(DecodeRingRecord(b, 2, &s), RingRecordStatus::kLengthNotCounts);
  // A stop reason outside the enum.
  b = good;
  SetField<uint8_t>(b, offsetof(rp_sample, user_stop), RP_STOP_DEFERRED + 1);
  EXPECT_EQ(DecodeRingRecord(b, 2, &s), RingRecordStatus::kBadStopReason);
  // An event index the recording does not have.
  EXPECT_EQ(DecodeRingRecord(good, 1, &s), RingRecordStatus::kBadEventIndex);
}

// A deferred walk's stack copy, as the BPF program writes it.
std::vector<uint8_t> UserStackBytes(uint32_t len) {
  std::vector<uint8_t> out(kRingUserStackHeaderBytes + len);
  rp_user_stack us;
  std::memset(&us, 0, kRingUserStackHeaderBytes);
  us.hdr.type = RP_RECORD_USER_STACK;
  us.hdr.size = static_cast<uint32_t>(out.size());
  us.time_ns = 987654321;
  us.tid = 43;
  us.cpu = 1;
  us.pc = 0x401234;
  us.sp = 0x7ffc0000f000;
  us.fp = 0x7ffc0000f100;
  us.len = len;
  us.frame = 2;
  std::memcpy(out.data(), &us, kRingUserStackHeaderBytes);
  for (uint32_t i = 0; i < len; ++i) out[kRingUserStackHeaderBytes + i] = static_cast<uint8_t>(i);
  return out;
}

TEST(RingRecord, UserStackDecodesEveryFieldAndItsCopy) {
  const std::vector<uint8_t> b = UserStackBytes(4096 + 100);
  RingSample sample;
  EXPECT_EQ(DecodeRingRecord(b, 2, &sample), RingRecordStatus::kUserStack);
  EXPECT_EQ(RingRecordType(b), static_cast<uint32_t>(RP_RECORD_USER_STACK));
  RingUserStack us;
  ASSERT_EQ(DecodeRingUserStack(b, &us), RingRecordStatus::kUserStack);
  EXPECT_EQ(us.time_ns, 987654321u);
  EXPECT_EQ(us.tid, 43u);
  EXPECT_EQ(us.cpu, 1u);
  EXPECT_EQ(us.pc, 0x401234u);
  EXPECT_EQ(us.sp, 0x7ffc0000f000u);
  EXPECT_EQ(us.fp, 0x7ffc0000f100u);
  EXPECT_EQ(us.frame, 2u);
  ASSERT_EQ(us.stack.size(), 4196u);
  EXPECT_EQ(us.stack[0], 0);
  EXPECT_EQ(us.stack[4195], static_cast<uint8_t>(4195));
  // An empty copy (the stack pointer's page was unreadable) is a record.
  ASSERT_EQ(DecodeRingUserStack(UserStackBytes(0), &us), RingRecordStatus::kUserStack);
  EXPECT_TRUE(us.stack.empty());
  ASSERT_EQ(DecodeRingUserStack(UserStackBytes(RP_USER_STACK_BYTES), &us),
            RingRecordStatus::kUserStack);
}

TEST(RingRecord, BadUserStacksAreNamed) {
  RingUserStack us;
  std::vector<uint8_t> good = UserStackBytes(64);
  EXPECT_EQ(DecodeRingUserStack(absl::MakeConstSpan(good.data(), 4), &us),
            RingRecordStatus::kShortHeader);
  std::vector<uint8_t> b = good;
  SetSize(b, static_cast<uint32_t>(b.size() - 1));
  EXPECT_EQ(DecodeRingUserStack(b, &us), RingRecordStatus::kSizeMismatch);
  // The length field disagrees with the bytes, or is over the limit.
  b = good;
  SetField<uint32_t>(b, offsetof(rp_user_stack, len), 65);
  EXPECT_EQ(DecodeRingUserStack(b, &us), RingRecordStatus::kUserStackLength);
  b = UserStackBytes(RP_USER_STACK_BYTES + 8);
  EXPECT_EQ(DecodeRingUserStack(b, &us), RingRecordStatus::kUserStackLength);
  // Cut inside the fixed fields.
  b.assign(good.begin(), good.begin() + kRingUserStackHeaderBytes - 8);
  SetSize(b, static_cast<uint32_t>(b.size()));
  EXPECT_EQ(DecodeRingUserStack(b, &us), RingRecordStatus::kShortUserStack);
  // A sample is not a user stack.
  EXPECT_EQ(DecodeRingUserStack(SampleBytes(1, 1, 0), &us), RingRecordStatus::kUnknownType);
}

TEST(RingRecord, EveryStatusHasAName) {
  for (int k = 0; k < kRingRecordStatusCount; ++k) {
    EXPECT_STRNE(RingRecordStatusName(static_cast<RingRecordStatus>(k)), "?") << k;
  }
}

}  // namespace
}  // namespace ringprof::collector
