#include "collector/perf_sample.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ringprof::collector {
namespace {

class Reader {
 public:
  explicit Reader(absl::Span<const uint8_t> b) : b_(b) {}
  bool U64(uint64_t* v) { return Bytes(v, 8); }
  bool U32(uint32_t* v) { return Bytes(v, 4); }
  bool Bytes(void* out, size_t n) {
    if (n > b_.size() - off_) return false;
    std::memcpy(out, b_.data() + off_, n);
    off_ += n;
    return true;
  }
  bool Span(size_t n, absl::Span<const uint8_t>* out) {
    if (n > b_.size() - off_) return false;
    *out = b_.subspan(off_, n);
    off_ += n;
    return true;
  }
  size_t offset() const { return off_; }
  size_t remaining() const { return b_.size() - off_; }

 private:
  absl::Span<const uint8_t> b_;
  size_t off_ = 0;
};

absl::Status Truncated(const Reader& r, const char* field) {
  return absl::InvalidArgumentError(
      absl::StrCat("sample record ends inside ", field, " (offset ", r.offset(), ")"));
}

}  // namespace

absl::StatusOr<PerfSample> ParsePerfSample(absl::Span<const uint8_t> record, uint64_t regs_mask) {
  Reader r(record);
  perf_event_header h;
  if (!r.Bytes(&h, sizeof(h))) return Truncated(r, "the header");
  if (h.type != PERF_RECORD_SAMPLE) {
    return absl::InvalidArgumentError(absl::StrCat("record type ", h.type, " is not a sample"));
  }
  PerfSample s;
  if (!r.U64(&s.ip)) return Truncated(r, "ip");
  if (!r.U32(&s.pid) || !r.U32(&s.tid)) return Truncated(r, "pid/tid");
  if (!r.U64(&s.time_ns)) return Truncated(r, "time");
  if (!r.U64(&s.period)) return Truncated(r, "period");
  uint64_t nr = 0;
  if (!r.U64(&nr)) return Truncated(r, "the callchain size");
  if (nr > r.remaining() / 8) return Truncated(r, "the callchain");
  for (uint64_t i = 0; i < nr; ++i) {
    uint64_t ip = 0;
    r.U64(&ip);
    if (ip >= static_cast<uint64_t>(PERF_CONTEXT_MAX)) continue;  // PERF_CONTEXT_* marker
    s.kernel_ips.push_back(ip);
  }
  if (!r.U64(&s.regs_abi)) return Truncated(r, "the register ABI");
  if (s.regs_abi != PERF_SAMPLE_REGS_ABI_NONE) {
    const int n = std::popcount(regs_mask);
    s.regs.resize(static_cast<size_t>(n));
    if (!r.Bytes(s.regs.data(), s.regs.size() * 8)) return Truncated(r, "the user registers");
  }
  uint64_t size = 0;
  if (!r.U64(&size)) return Truncated(r, "the stack size");
  if (size > 0) {
    absl::Span<const uint8_t> data;
    uint64_t dyn_size = 0;
    if (size > r.remaining() || !r.Span(size, &data)) return Truncated(r, "the stack copy");
    if (!r.U64(&dyn_size)) return Truncated(r, "the stack's dyn_size");
    s.stack = data.subspan(0, std::min<uint64_t>(dyn_size, size));
  }
  return s;
}

}  // namespace ringprof::collector
