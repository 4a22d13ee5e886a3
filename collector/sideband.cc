#include "collector/sideband.h"

#include <linux/perf_event.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace ringprof::collector {
namespace {

#ifndef PERF_RECORD_MISC_MMAP_BUILD_ID
#define PERF_RECORD_MISC_MMAP_BUILD_ID (1 << 14)
#endif

constexpr size_t kSampleIdBytes = 16;  // u32 pid, u32 tid, u64 time

class Cursor {
 public:
  explicit Cursor(absl::Span<const uint8_t> b) : b_(b) {}
  template <typename T>
  bool Read(T* out) {
    if (pos_ + sizeof(T) > b_.size()) return false;
    std::memcpy(out, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool Skip(size_t n) {
    if (pos_ + n > b_.size()) return false;
    pos_ += n;
    return true;
  }
  // A NUL-terminated string inside [pos, limit).
  bool String(size_t limit, std::string* out) {
    if (limit > b_.size() || pos_ > limit) return false;
    const char* p = reinterpret_cast<const char*>(b_.data() + pos_);
    size_t n = strnlen(p, limit - pos_);
    out->assign(p, n);
    pos_ = limit;
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  absl::Span<const uint8_t> b_;
  size_t pos_ = 0;
};

absl::Status Bad(uint32_t type, const char* why) {
  return absl::DataLossError(absl::StrCat("perf record type ", type, ": ", why));
}

}  // namespace

absl::StatusOr<SidebandRecord> ParseSidebandRecord(absl::Span<const uint8_t> bytes) {
  perf_event_header hdr;
  if (bytes.size() < sizeof(hdr)) return absl::DataLossError("perf record shorter than its header");
  std::memcpy(&hdr, bytes.data(), sizeof(hdr));
  if (hdr.size != bytes.size()) return Bad(hdr.type, "size field does not match record length");
  SidebandRecord r;
  r.type = hdr.type;
  // Every record type we parse carries the sample_id trailer.
  const size_t body_end =
      bytes.size() >= sizeof(hdr) + kSampleIdBytes ? bytes.size() - kSampleIdBytes : 0;
  auto read_trailer = [&]() -> bool {
    if (body_end < sizeof(hdr)) return false;
    Cursor t(bytes.subspan(body_end));
    return t.Read(&r.pid) && t.Read(&r.tid) && t.Read(&r.time_ns);
  };
  Cursor c(bytes.subspan(0, body_end == 0 ? sizeof(hdr) : body_end));
  c.Skip(sizeof(hdr));
  switch (hdr.type) {
    case PERF_RECORD_MMAP2: {
      r.kind = SidebandRecord::Kind::kMmap2;
      uint32_t pid = 0;
      uint32_t tid = 0;
      uint8_t ids[24];
      uint32_t flags = 0;
      if (!read_trailer() || !c.Read(&pid) || !c.Read(&tid) || !c.Read(&r.addr) ||
          !c.Read(&r.len) || !c.Read(&r.pgoff) || !c.Read(&ids) || !c.Read(&r.prot) ||
          !c.Read(&flags) || !c.String(body_end, &r.filename)) {
        return Bad(hdr.type, "MMAP2 record is truncated");
      }
      r.pid = pid;
      r.tid = tid;
      if (hdr.misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
        uint8_t n = ids[0];
        if (n > 20) return Bad(hdr.type, "MMAP2 build-id longer than 20 bytes");
        r.build_id.assign(reinterpret_cast<const char*>(ids + 4), n);
      }
      return r;
    }
    case PERF_RECORD_COMM: {
      r.kind = SidebandRecord::Kind::kComm;
      uint32_t pid = 0;
      uint32_t tid = 0;
      if (!read_trailer() || !c.Read(&pid) || !c.Read(&tid) || !c.String(body_end, &r.comm)) {
        return Bad(hdr.type, "COMM record is truncated");
      }
      r.pid = pid;
      r.tid = tid;
      r.exec = (hdr.misc & PERF_RECORD_MISC_COMM_EXEC) != 0;
      return r;
    }
    case PERF_RECORD_FORK:
    case PERF_RECORD_EXIT: {
      r.kind =
          hdr.type == PERF_RECORD_FORK ? SidebandRecord::Kind::kFork : SidebandRecord::Kind::kExit;
      uint32_t pid = 0;
      uint32_t tid = 0;
      uint64_t time = 0;
      if (!read_trailer() || !c.Read(&pid) || !c.Read(&r.ppid) || !c.Read(&tid) ||
          !c.Read(&r.ptid) || !c.Read(&time)) {
        return Bad(hdr.type, "FORK/EXIT record is truncated");
      }
      r.pid = pid;
      r.tid = tid;
      return r;
    }
    case PERF_RECORD_LOST: {
      r.kind = SidebandRecord::Kind::kLost;
      uint64_t id = 0;
      if (!read_trailer() || !c.Read(&id) || !c.Read(&r.lost)) {
        return Bad(hdr.type, "LOST record is truncated");
      }
      return r;
    }
    case PERF_RECORD_THROTTLE:
    case PERF_RECORD_UNTHROTTLE: {
      r.kind = hdr.type == PERF_RECORD_THROTTLE ? SidebandRecord::Kind::kThrottle
                                                : SidebandRecord::Kind::kUnthrottle;
      read_trailer();
      return r;
    }
    default:
      r.kind = SidebandRecord::Kind::kOther;
      return r;
  }
}

}  // namespace ringprof::collector
