// Reader and writer of the recording file. The byte layout is specified in
// docs/FORMAT.md ("Recording file"); keep the two in step.
#include "formats/recording.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/scoped_fd.h"
#include "base/status_macros.h"

namespace ringprof::formats {
namespace {

constexpr char kFileMagic[8] = {'R', 'I', 'N', 'G', 'P', 'R', 'O', 'F'};
constexpr uint32_t kFileHeaderSize = 24;
// Bits 16..31 of the file flags name features a reader must understand;
// bits 0..15 may be ignored. Version 1 defines none.
constexpr uint32_t kIncompatibleFlagsMask = 0xffff0000u;

constexpr char kChunkMarker[4] = {'R', 'P', 'C', 'K'};
// Version 1 chunk header: marker, type, flags, payload size, payload crc,
// header crc. Version 2 puts a u32 sequence number after the flags.
constexpr size_t kChunkHeaderSizeV1 = 20;
constexpr size_t kChunkHeaderSizeV2 = 24;

size_t ChunkHeaderSize(uint32_t version) {
  return version >= 2 ? kChunkHeaderSizeV2 : kChunkHeaderSizeV1;
}

enum ChunkType : uint16_t {
  kChunkMeta = 1,
  kChunkMappings = 2,
  kChunkTasks = 3,
  kChunkSamples = 4,
  kChunkKallsyms = 5,
  kChunkStats = 6,
  kChunkEnd = 7,
  kChunkCounterScaling = 8,
  kChunkImage = 9,
  kChunkKernel = 10,
};

// Field ids of the version 2 STATS payload: (id, value) varint pairs.
// Ids are never reused; readers skip ids they do not know.
enum StatsField : uint32_t {
  kStatLostSamples = 1,
  kStatLostPerfRecords = 2,
  kStatThrottleEvents = 3,
  kStatKernelTruncated = 4,
  kStatUserTruncated = 5,
  kStatUserStackFailed = 6,
  kStatUnmappedUserFrames = 7,
  kStatUnwindTablesLoaded = 8,
  kStatUnwindTablesEvicted = 9,
  kStatUnwindRowsEvicted = 10,
  kStatUnwindBinariesWithoutTable = 11,
  kStatUnwindTablesTooBig = 12,
  kStatBadRingRecords = 13,
  kStatDeferredWalks = 14,
  kStatDeferredCopiesLost = 15,
};

// Where each STATS field lives in LossStats, for the writer and the reader.
struct StatsFieldRef {
  StatsField id;
  uint64_t LossStats::*field;
};
constexpr StatsFieldRef kStatsFields[] = {
    {kStatLostSamples, &LossStats::lost_samples},
    {kStatLostPerfRecords, &LossStats::lost_perf_records},
    {kStatThrottleEvents, &LossStats::throttle_events},
    {kStatKernelTruncated, &LossStats::kernel_truncated},
    {kStatUserTruncated, &LossStats::user_truncated},
    {kStatUserStackFailed, &LossStats::user_stack_failed},
    {kStatUnmappedUserFrames, &LossStats::unmapped_user_frames},
    {kStatUnwindTablesLoaded, &LossStats::unwind_tables_loaded},
    {kStatUnwindTablesEvicted, &LossStats::unwind_tables_evicted},
    {kStatUnwindRowsEvicted, &LossStats::unwind_rows_evicted},
    {kStatUnwindBinariesWithoutTable, &LossStats::unwind_binaries_without_table},
    {kStatUnwindTablesTooBig, &LossStats::unwind_tables_too_big},
    {kStatBadRingRecords, &LossStats::bad_ring_records},
    {kStatDeferredWalks, &LossStats::deferred_walks},
    {kStatDeferredCopiesLost, &LossStats::deferred_copies_lost},
};

// KALLSYMS text is compressed in pieces so that no chunk nears the limit,
// and a reader refuses to inflate a piece larger than this.
constexpr size_t kKallsymsPiece = 16u << 20;
constexpr uint64_t kMaxKallsymsPiece = 64u << 20;
// zlib's deflate cannot expand data by more than about 1032:1.
constexpr uint64_t kMaxInflateRatio = 1032;

std::string ChunkTypeName(uint16_t type) {
  switch (type) {
    case kChunkMeta:
      return "META";
    case kChunkMappings:
      return "MAPPINGS";
    case kChunkTasks:
      return "TASKS";
    case kChunkSamples:
      return "SAMPLES";
    case kChunkKallsyms:
      return "KALLSYMS";
    case kChunkStats:
      return "STATS";
    case kChunkEnd:
      return "END";
    case kChunkCounterScaling:
      return "COUNTER_SCALING";
    case kChunkImage:
      return "IMAGE";
    case kChunkKernel:
      return "KERNEL";
    default:
      return absl::StrCat("type ", type);
  }
}

uint32_t Crc32(std::string_view data) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

void PutU16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v);
  p[1] = static_cast<char>(v >> 8);
}
void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint16_t GetU16(const char* p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | static_cast<uint8_t>(p[1]) << 8);
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }
// Signed difference a - b with 64-bit wrap-around: exact for any pair.
uint64_t DeltaCode(uint64_t a, uint64_t b) { return ZigZag(static_cast<int64_t>(a - b)); }
uint64_t DeltaDecode(uint64_t base, uint64_t code) {
  return base + static_cast<uint64_t>(UnZigZag(code));
}

// ---------------------------------------------------------------------------
// Encoding

// An append-only byte buffer over `storage`, whose bytes past `len_` are
// scratch, so that records are written through a raw pointer without
// zero-filling. The writer passes the same storage to every call: growing
// a fresh multi-MiB buffer per batch costs a page fault per 4 KiB.
class ByteSink {
 public:
  ByteSink(std::string& storage, size_t prefix) : buf_(storage), len_(prefix) {
    if (buf_.size() < std::max<size_t>(prefix, 256)) buf_.resize(std::max<size_t>(prefix, 256));
  }
  // Returns room for at least `n` bytes at the end; call Commit after.
  char* Reserve(size_t n) {
    if (buf_.size() - len_ < n) buf_.resize(std::max(buf_.size() * 2, len_ + n));
    return buf_.data() + len_;
  }
  void Commit(char* end) { len_ = static_cast<size_t>(end - buf_.data()); }
  size_t size() const { return len_; }
  char* data() { return buf_.data(); }
  void Truncate(size_t len) { len_ = len; }

 private:
  std::string& buf_;
  size_t len_;
};

inline char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}
constexpr size_t kMaxVarint = 10;

inline char* PutString(char* p, std::string_view s) {
  p = PutVarint(p, s.size());
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

void AppendVarint(ByteSink& sink, uint64_t v) {
  sink.Commit(PutVarint(sink.Reserve(kMaxVarint), v));
}
void AppendString(ByteSink& sink, std::string_view s) {
  sink.Commit(PutString(sink.Reserve(kMaxVarint + s.size()), s));
}

void EncodeEvent(ByteSink& sink, const EventDesc& e) {
  AppendString(sink, e.name);
  AppendVarint(sink, e.type);
  AppendVarint(sink, e.config);
  AppendVarint(sink, e.freq ? 1 : 0);
  AppendVarint(sink, e.sample_freq_or_period);
  AppendString(sink, e.unit);
}

// Per-chunk delta state: every chunk decodes on its own.
struct DeltaState {
  uint64_t prev_time = 0;
};

void EncodeRecord(ByteSink& sink, const Mapping& m, DeltaState&) {
  AppendVarint(sink, m.id);
  AppendVarint(sink, m.pid);
  AppendVarint(sink, m.time_ns);
  AppendVarint(sink, m.start);
  AppendVarint(sink, m.end - m.start);
  AppendVarint(sink, m.pgoff);
  AppendVarint(sink, m.prot);
  AppendString(sink, m.build_id);
  AppendString(sink, m.path);
}

void EncodeRecord(ByteSink& sink, const TaskEvent& t, DeltaState& state) {
  char* p = sink.Reserve(1 + 6 * kMaxVarint);
  *p++ = static_cast<char>(t.kind);
  p = PutVarint(p, DeltaCode(t.time_ns, state.prev_time));
  p = PutVarint(p, t.pid);
  p = PutVarint(p, t.tid);
  p = PutVarint(p, t.ppid);
  p = PutVarint(p, t.ptid);
  sink.Commit(p);
  AppendString(sink, t.comm);
  state.prev_time = t.time_ns;
}

void EncodeRecord(ByteSink& sink, const Sample& s, DeltaState& state) {
  const size_t max_bytes =
      kMaxVarint * (10 + s.kernel_ips.size() + 2 * s.user_frames.size() + s.counter_deltas.size());
  char* p = sink.Reserve(max_bytes);
  p = PutVarint(p, DeltaCode(s.time_ns, state.prev_time));
  p = PutVarint(p, s.pid);
  p = PutVarint(p, DeltaCode(s.tid, s.pid));
  p = PutVarint(p, s.cpu);
  p = PutVarint(p, s.flags);
  p = PutVarint(p, s.event_index);
  p = PutVarint(p, s.period);
  p = PutVarint(p, s.kernel_ips.size());
  p = PutVarint(p, s.user_frames.size());
  p = PutVarint(p, s.counter_deltas.size());
  uint64_t prev_ip = 0;
  for (uint64_t ip : s.kernel_ips) {
    p = PutVarint(p, DeltaCode(ip, prev_ip));
    prev_ip = ip;
  }
  uint32_t prev_mapping = 0;
  uint64_t prev_address = 0;
  for (const UserFrame& f : s.user_frames) {
    if (f.mapping_id != prev_mapping) prev_address = 0;
    p = PutVarint(p, f.mapping_id);
    p = PutVarint(p, DeltaCode(f.address, prev_address));
    prev_mapping = f.mapping_id;
    prev_address = f.address;
  }
  for (uint64_t d : s.counter_deltas) p = PutVarint(p, d);
  sink.Commit(p);
  state.prev_time = s.time_ns;
}

// ---------------------------------------------------------------------------
// Decoding

// Reads one chunk payload. Every read is bounds-checked; the first failure
// records what and where, and later reads fail too.
class Decoder {
 public:
  Decoder(std::string_view payload, uint64_t file_offset)
      : begin_(payload.data()),
        p_(payload.data()),
        end_(payload.data() + payload.size()),
        file_offset_(file_offset) {}

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const std::string& error() const { return error_; }

  bool Fail(absl::string_view what) {
    if (error_.empty()) {
      error_ = absl::StrCat(what, " at offset ", file_offset_ + static_cast<uint64_t>(p_ - begin_));
    }
    p_ = end_;
    return false;
  }

  bool Varint(uint64_t& v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return Fail("varint runs past the end of the payload");
      const uint8_t b = static_cast<uint8_t>(*p_++);
      if (shift == 63 && b > 1) return Fail("varint overflows 64 bits");
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        v = result;
        return true;
      }
    }
    return Fail("varint longer than 10 bytes");
  }

  bool Varint32(uint32_t& v) {
    uint64_t wide = 0;
    if (!Varint(wide)) return false;
    if (wide > UINT32_MAX) return Fail(absl::StrCat("value ", wide, " does not fit 32 bits"));
    v = static_cast<uint32_t>(wide);
    return true;
  }

  bool Byte(uint8_t& v) {
    if (p_ == end_) return Fail("byte past the end of the payload");
    v = static_cast<uint8_t>(*p_++);
    return true;
  }

  bool String(std::string& s) {
    uint64_t len = 0;
    if (!Varint(len)) return false;
    if (len > remaining()) {
      return Fail(
          absl::StrCat("string of ", len, " bytes overruns the payload (", remaining(), " left)"));
    }
    s.assign(p_, len);
    p_ += len;
    return true;
  }

  // A record count, capped by what the rest of the payload could hold so
  // that a corrupted count cannot make the reader allocate gigabytes.
  bool Count(uint64_t& n, size_t min_record_bytes, absl::string_view what) {
    if (!Varint(n)) return false;
    if (n > remaining() / min_record_bytes) {
      return Fail(absl::StrCat(what, " count ", n, " exceeds what the remaining ", remaining(),
                               " payload bytes can hold"));
    }
    return true;
  }

  std::string_view Rest() {
    std::string_view rest(p_, remaining());
    p_ = end_;
    return rest;
  }

 private:
  const char* begin_;
  const char* p_;
  const char* end_;
  uint64_t file_offset_;
  std::string error_;
};

// Appends `n` default records to `v` for decoding in place; unless Keep()
// is called, removes them again when it goes out of scope.
template <typename T>
class RecordAppender {
 public:
  RecordAppender(std::vector<T>& v, size_t n) : v_(v), old_size_(v.size()) {
    v_.resize(old_size_ + n);
  }
  ~RecordAppender() {
    if (!keep_) v_.resize(old_size_);
  }
  RecordAppender(const RecordAppender&) = delete;
  RecordAppender& operator=(const RecordAppender&) = delete;
  T* begin() { return v_.data() + old_size_; }
  T* end() { return v_.data() + v_.size(); }
  void Keep() { keep_ = true; }

 private:
  std::vector<T>& v_;
  size_t old_size_;
  bool keep_ = false;
};

bool DecodeEvent(Decoder& d, EventDesc& e) {
  uint64_t freq = 0;
  if (!d.String(e.name) || !d.Varint32(e.type) || !d.Varint(e.config) || !d.Varint(freq) ||
      !d.Varint(e.sample_freq_or_period) || !d.String(e.unit)) {
    return false;
  }
  if (freq > 1) return d.Fail("event freq flag is not 0 or 1");
  e.freq = freq == 1;
  return true;
}
constexpr size_t kMinEventBytes = 6;

struct MetaChunk {
  uint64_t start_time_ns = 0;
  std::map<std::string, std::string> meta;
  std::vector<EventDesc> events;
  std::vector<EventDesc> counters;
};

bool DecodeMeta(Decoder& d, MetaChunk& out) {
  uint64_t n = 0;
  if (!d.Varint(out.start_time_ns) || !d.Count(n, 2, "meta entry")) return false;
  for (uint64_t i = 0; i < n; ++i) {
    std::string key, value;
    if (!d.String(key) || !d.String(value)) return false;
    out.meta.insert_or_assign(std::move(key), std::move(value));
  }
  for (auto* list : {&out.events, &out.counters}) {
    if (!d.Count(n, kMinEventBytes, "event")) return false;
    list->resize(n);
    for (EventDesc& e : *list) {
      if (!DecodeEvent(d, e)) return false;
    }
  }
  return true;  // trailing bytes are fields of a later minor revision
}

// The record decoders append to `out` and leave it as it was on failure.
bool DecodeMappings(Decoder& d, std::vector<Mapping>& all) {
  uint64_t n = 0;
  if (!d.Count(n, 9, "mapping")) return false;
  RecordAppender<Mapping> out(all, n);
  for (Mapping& m : out) {
    uint64_t length = 0;
    if (!d.Varint32(m.id) || !d.Varint32(m.pid) || !d.Varint(m.time_ns) || !d.Varint(m.start) ||
        !d.Varint(length) || !d.Varint(m.pgoff) || !d.Varint32(m.prot) || !d.String(m.build_id) ||
        !d.String(m.path)) {
      return false;
    }
    m.end = m.start + length;
  }
  if (d.remaining() != 0) return d.Fail("trailing bytes after the last mapping");
  out.Keep();
  return true;
}

bool DecodeTasks(Decoder& d, std::vector<TaskEvent>& all) {
  uint64_t n = 0;
  if (!d.Count(n, 7, "task event")) return false;
  RecordAppender<TaskEvent> out(all, n);
  uint64_t prev_time = 0;
  for (TaskEvent& t : out) {
    uint8_t kind = 0;
    uint64_t time_code = 0;
    if (!d.Byte(kind)) return false;
    if (kind < static_cast<uint8_t>(TaskEventKind::kFork) ||
        kind > static_cast<uint8_t>(TaskEventKind::kExit)) {
      return d.Fail(absl::StrCat("unknown task event kind ", kind));
    }
    t.kind = static_cast<TaskEventKind>(kind);
    if (!d.Varint(time_code) || !d.Varint32(t.pid) || !d.Varint32(t.tid) || !d.Varint32(t.ppid) ||
        !d.Varint32(t.ptid) || !d.String(t.comm)) {
      return false;
    }
    t.time_ns = prev_time = DeltaDecode(prev_time, time_code);
  }
  if (d.remaining() != 0) return d.Fail("trailing bytes after the last task event");
  out.Keep();
  return true;
}

bool DecodeSamples(Decoder& d, std::vector<Sample>& all) {
  uint64_t n = 0;
  if (!d.Count(n, 10, "sample")) return false;
  RecordAppender<Sample> out(all, n);
  uint64_t prev_time = 0;
  for (Sample& s : out) {
    uint64_t time_code = 0, tid_code = 0, n_kernel = 0, n_user = 0, n_counters = 0;
    if (!d.Varint(time_code) || !d.Varint32(s.pid) || !d.Varint(tid_code) || !d.Varint32(s.cpu) ||
        !d.Varint32(s.flags) || !d.Varint32(s.event_index) || !d.Varint(s.period) ||
        !d.Varint(n_kernel) || !d.Varint(n_user) || !d.Varint(n_counters)) {
      return false;
    }
    s.time_ns = prev_time = DeltaDecode(prev_time, time_code);
    const uint64_t tid = DeltaDecode(s.pid, tid_code);
    if (tid > UINT32_MAX) return d.Fail("tid does not fit 32 bits");
    s.tid = static_cast<uint32_t>(tid);
    // Each kernel frame and counter takes at least one byte, each user
    // frame two: refuse counts the payload cannot hold before allocating.
    if (n_kernel > d.remaining() || n_user > d.remaining() / 2 || n_counters > d.remaining() ||
        n_kernel + 2 * n_user + n_counters > d.remaining()) {
      return d.Fail(absl::StrCat("sample frame counts (", n_kernel, " kernel, ", n_user, " user, ",
                                 n_counters, " counters) exceed the remaining ", d.remaining(),
                                 " payload bytes"));
    }
    s.kernel_ips.resize(n_kernel);
    uint64_t prev_ip = 0;
    for (uint64_t& ip : s.kernel_ips) {
      uint64_t code = 0;
      if (!d.Varint(code)) return false;
      ip = prev_ip = DeltaDecode(prev_ip, code);
    }
    s.user_frames.resize(n_user);
    uint32_t prev_mapping = 0;
    uint64_t prev_address = 0;
    for (UserFrame& f : s.user_frames) {
      uint64_t code = 0;
      if (!d.Varint32(f.mapping_id) || !d.Varint(code)) return false;
      if (f.mapping_id != prev_mapping) prev_address = 0;
      f.address = prev_address = DeltaDecode(prev_address, code);
      prev_mapping = f.mapping_id;
    }
    s.counter_deltas.resize(n_counters);
    for (uint64_t& v : s.counter_deltas) {
      if (!d.Varint(v)) return false;
    }
  }
  if (d.remaining() != 0) return d.Fail("trailing bytes after the last sample");
  out.Keep();
  return true;
}

bool DecodeKallsyms(Decoder& d, std::string& out) {
  uint64_t size = 0;
  if (!d.Varint(size)) return false;
  const std::string_view compressed = d.Rest();
  if (size > kMaxKallsymsPiece || size > compressed.size() * kMaxInflateRatio + 64) {
    return d.Fail(absl::StrCat("kallsyms size ", size, " is impossible for ", compressed.size(),
                               " compressed bytes"));
  }
  out.resize(size);
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return d.Fail("zlib inflateInit failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  // With the whole output buffer given, a valid stream ends in one call;
  // anything else (more output than declared, a cut stream) is damage.
  int rc = inflate(&zs, Z_FINISH);
  const uint64_t produced = zs.total_out;
  const uInt left_in = zs.avail_in;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return d.Fail(absl::StrCat("kallsyms zlib stream is invalid (zlib error ", rc, ")"));
  }
  if (produced != size || left_in != 0) {
    return d.Fail(absl::StrCat("kallsyms inflated to ", produced, " bytes, header says ", size));
  }
  return true;
}

// KERNEL: the kernel's build-id and its module list.
constexpr uint64_t kKernelModulesKnown = 1;

bool DecodeKernel(Decoder& d, KernelInfo& k) {
  uint64_t flags = 0, n = 0;
  if (!d.String(k.build_id) || !d.Varint(flags)) return false;
  k.modules_known = (flags & kKernelModulesKnown) != 0;
  // name, size, address, build-id: at least a byte each.
  if (!d.Count(n, 4, "KERNEL module")) return false;
  k.modules.resize(n);
  for (KernelModule& m : k.modules) {
    if (!d.String(m.name) || !d.Varint(m.size) || !d.Varint(m.address) || !d.String(m.build_id)) {
      return false;
    }
  }
  return true;  // trailing bytes are fields of a later minor revision
}

// Version 1: fields by position.
bool DecodeStatsV1(Decoder& d, LossStats& s) {
  return d.Varint(s.lost_samples) && d.Varint(s.lost_perf_records) && d.Varint(s.throttle_events) &&
         d.Varint(s.kernel_truncated) && d.Varint(s.user_truncated) &&
         d.Varint(s.user_stack_failed) && d.Varint(s.unmapped_user_frames) &&
         // Fields added later: absent in older files.
         (d.remaining() == 0 ||
          (d.Varint(s.unwind_tables_loaded) && d.Varint(s.unwind_tables_evicted) &&
           d.Varint(s.unwind_rows_evicted) && d.Varint(s.unwind_binaries_without_table) &&
           d.Varint(s.unwind_tables_too_big)));
}

// Version 2: (field id, value) pairs up to the end of the payload; unknown
// ids are skipped, a repeated id keeps its last value.
bool DecodeStatsV2(Decoder& d, LossStats& s) {
  while (d.remaining() != 0) {
    uint64_t id = 0, value = 0;
    if (!d.Varint(id) || !d.Varint(value)) return false;
    for (const StatsFieldRef& f : kStatsFields) {
      if (f.id == id) s.*f.field = value;
    }
  }
  return true;
}

bool DecodeCounterScaling(Decoder& d, std::vector<CounterScaling>& out) {
  uint64_t n = 0;
  if (!d.Count(n, 2, "counter scaling")) return false;
  std::vector<CounterScaling> v(n);
  for (CounterScaling& c : v) {
    if (!d.Varint(c.time_enabled_ns) || !d.Varint(c.time_running_ns)) return false;
  }
  if (d.remaining() != 0) return d.Fail("trailing bytes after the counter scaling");
  out = std::move(v);
  return true;
}

// What is at a file position that should start a chunk.
struct ChunkHeader {
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t seq = 0;  // version 2 only
  uint32_t payload_size = 0;
  uint32_t payload_crc = 0;
};

enum class HeaderCheck { kValid, kShort, kBad };

HeaderCheck CheckChunkHeader(std::string_view bytes, size_t pos, uint32_t version, ChunkHeader& h,
                             std::string* why) {
  const size_t left = bytes.size() - pos;
  const char* p = bytes.data() + pos;
  const size_t header_size = ChunkHeaderSize(version);
  if (left < header_size) {
    // A file cut inside a chunk header: the marker (or a prefix of it) is
    // still there.
    if (std::memcmp(p, kChunkMarker, std::min(left, sizeof(kChunkMarker))) == 0) {
      return HeaderCheck::kShort;
    }
    if (why) *why = "no chunk marker";
    return HeaderCheck::kBad;
  }
  if (std::memcmp(p, kChunkMarker, sizeof(kChunkMarker)) != 0) {
    if (why) *why = "no chunk marker";
    return HeaderCheck::kBad;
  }
  // The header checksum covers the header before it.
  const size_t crc_at = header_size - 4;
  const uint32_t stored_crc = GetU32(p + crc_at);
  const uint32_t crc = Crc32(std::string_view(p, crc_at));
  if (stored_crc != crc) {
    if (why)
      *why =
          absl::StrFormat("header checksum mismatch (stored %08x, computed %08x)", stored_crc, crc);
    return HeaderCheck::kBad;
  }
  h.type = GetU16(p + 4);
  h.flags = GetU16(p + 6);
  const size_t size_at = version >= 2 ? 12 : 8;
  h.seq = version >= 2 ? GetU32(p + 8) : 0;
  h.payload_size = GetU32(p + size_at);
  h.payload_crc = GetU32(p + size_at + 4);
  if (h.type == 0) {
    if (why) *why = "chunk type 0 is reserved";
    return HeaderCheck::kBad;
  }
  if (h.payload_size > kMaxChunkPayload) {
    if (why) *why = absl::StrCat("impossible payload length ", h.payload_size);
    return HeaderCheck::kBad;
  }
  return HeaderCheck::kValid;
}

// The next position after `from` where a valid chunk header (or a chunk
// header cut by the end of the file) starts; bytes.size() if none.
size_t FindNextChunk(std::string_view bytes, size_t from, uint32_t version) {
  ChunkHeader h;
  while (from < bytes.size()) {
    const size_t hit = bytes.find(std::string_view(kChunkMarker, sizeof(kChunkMarker)), from);
    if (hit == std::string_view::npos) break;
    if (CheckChunkHeader(bytes, hit, version, h, nullptr) != HeaderCheck::kBad) return hit;
    from = hit + 1;
  }
  // A marker prefix at the very end is a chunk cut inside its marker.
  for (size_t k = std::min(sizeof(kChunkMarker) - 1, bytes.size() - std::min(from, bytes.size()));
       k > 0; --k) {
    const size_t pos = bytes.size() - k;
    if (pos >= from && std::memcmp(bytes.data() + pos, kChunkMarker, k) == 0) return pos;
  }
  return bytes.size();
}

// The END chunk: the end time and, since version 2, how many chunks of
// each type the writer wrote before it.
struct EndChunk {
  uint64_t end_time_ns = 0;
  std::map<uint16_t, uint64_t> counts;
};

bool DecodeEnd(Decoder& d, uint32_t version, EndChunk& out) {
  if (!d.Varint(out.end_time_ns)) return false;
  if (version < 2) return true;  // trailing bytes are fields of a later minor revision
  uint64_t n = 0;
  if (!d.Count(n, 2, "END chunk count")) return false;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t type = 0, count = 0;
    if (!d.Varint(type) || !d.Varint(count)) return false;
    if (type == 0 || type > UINT16_MAX) return d.Fail(absl::StrCat("END counts chunk type ", type));
    if (!out.counts.emplace(static_cast<uint16_t>(type), count).second) {
      return d.Fail(absl::StrCat("END counts chunk type ",
                                 ChunkTypeName(static_cast<uint16_t>(type)), " twice"));
    }
  }
  return true;  // trailing bytes are fields of a later minor revision
}

// What the reader has taken from the chunks so far, beyond the Recording.
struct ReadState {
  uint32_t version = 0;
  bool saw_end = false;
  uint64_t end_order = 0;  // of the END chunk kept
  uint32_t end_seq = 0;
  std::map<uint16_t, uint64_t> end_counts;
  uint64_t stats_order = 0;  // of the STATS chunk kept (rec.stats_present says whether one is)
  // Chunks of each type that were read: applied (known types) or skipped
  // with valid checksums (unknown types). Repeats and bad chunks are not.
  std::map<uint16_t, uint64_t> read_counts;
};

// Applies one checksummed chunk to the recording. `order` is the chunk's
// sequence number (version 2) or its index in the file (version 1): of
// several STATS or END chunks, the one with the highest order is kept.
// Returns false (and the reason) if its payload does not decode; nothing of
// it is kept then.
bool ApplyChunk(const ChunkHeader& h, uint64_t order, std::string_view payload,
                uint64_t payload_offset, Recording& rec, ReadState& state, std::string& why) {
  Decoder d(payload, payload_offset);
  bool ok = true;
  switch (h.type) {
    case kChunkMeta: {
      MetaChunk meta;
      ok = DecodeMeta(d, meta);
      if (ok) {
        for (auto& [k, v] : meta.meta) rec.meta.insert_or_assign(k, std::move(v));
        rec.events = std::move(meta.events);
        rec.counters = std::move(meta.counters);
        rec.start_time_ns = meta.start_time_ns;
        rec.meta_present = true;
      }
      break;
    }
    case kChunkMappings:
      ok = DecodeMappings(d, rec.mappings);
      break;
    case kChunkTasks:
      ok = DecodeTasks(d, rec.tasks);
      break;
    case kChunkSamples:
      ok = DecodeSamples(d, rec.samples);
      break;
    case kChunkKallsyms: {
      std::string text;
      ok = DecodeKallsyms(d, text);
      if (ok && rec.kallsyms.empty()) {
        rec.kallsyms = std::move(text);
      } else if (ok) {
        rec.kallsyms += text;
      }
      break;
    }
    case kChunkStats: {
      LossStats s;
      ok = state.version >= 2 ? DecodeStatsV2(d, s) : DecodeStatsV1(d, s);
      if (ok && (!rec.stats_present || order >= state.stats_order)) {
        rec.loss = s;
        rec.stats_present = true;
        state.stats_order = order;
      }
      break;
    }
    case kChunkCounterScaling:
      ok = DecodeCounterScaling(d, rec.counter_scaling);
      break;
    case kChunkImage: {
      Image image;
      ok = d.String(image.name) && d.String(image.bytes);
      if (ok && d.remaining() != 0) ok = d.Fail("IMAGE payload has bytes after the image");
      if (ok && image.name.empty()) ok = d.Fail("IMAGE without a name");
      if (ok) rec.images.push_back(std::move(image));
      break;
    }
    case kChunkKernel: {
      KernelInfo k;
      ok = DecodeKernel(d, k);
      if (ok) rec.kernel = std::move(k);  // the last one wins
      break;
    }
    case kChunkEnd: {
      EndChunk end;
      ok = DecodeEnd(d, state.version, end);
      if (ok && (!state.saw_end || order >= state.end_order)) {
        rec.end_time_ns = end.end_time_ns;
        state.saw_end = true;
        state.end_order = order;
        state.end_seq = h.seq;
        state.end_counts = std::move(end.counts);
      }
      break;
    }
    default:
      break;  // a chunk type of a later revision: skipped
  }
  if (!ok) {
    why = d.error();
  } else {
    state.read_counts[h.type]++;
  }
  return ok;
}

std::string Plural(uint64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

// Checks the sequence numbers of a version 2 file: each chunk header
// carries one (0, 1, 2, ... in write order), so a chunk that was removed
// leaves a gap, one copied twice repeats a number, and chunks moved around
// come out of order, even though every checksum is right.
class SequenceCheck {
 public:
  // Registers a chunk with a valid header. Returns false when its number was
  // seen before: the chunk is a duplicate and must not be applied.
  bool Admit(const ChunkHeader& h, size_t offset, Damage& damage) {
    auto [it, inserted] = seen_.try_emplace(h.seq, Seen{offset, h.type});
    if (!inserted) {
      damage.duplicate_chunks++;
      damage.messages.push_back(absl::StrCat("chunk ", ChunkTypeName(h.type), " at offset ", offset,
                                             " repeats sequence number ", h.seq, " of the ",
                                             ChunkTypeName(it->second.type), " chunk at offset ",
                                             it->second.offset, ": a duplicate, not applied"));
      return false;
    }
    if (any_ && h.seq < max_seq_) {
      damage.out_of_order_chunks++;
      damage.messages.push_back(absl::StrCat("chunk ", ChunkTypeName(h.type), " at offset ", offset,
                                             " has sequence number ", h.seq, ", lower than ",
                                             max_seq_, " of the chunk at offset ", max_offset_,
                                             " before it: chunks out of order"));
    }
    if (!any_ || h.seq > max_seq_) {
      max_seq_ = h.seq;
      max_offset_ = offset;
    }
    any_ = true;
    return true;
  }

  // After the last chunk: the gaps in the numbering, chunks numbered after
  // END, and END's per-type counts against the chunks read.
  void Finish(const ReadState& state, Damage& damage) const {
    uint64_t expect = 0;
    size_t prev_offset = 0;
    for (const auto& [seq, chunk] : seen_) {
      if (seq > expect) {
        const uint64_t n = seq - expect;
        damage.missing_chunks += n;
        const std::string numbers =
            n == 1 ? absl::StrCat("sequence number ", expect)
                   : absl::StrCat("sequence numbers ", expect, " to ", seq - 1);
        damage.messages.push_back(
            expect == 0 ? absl::StrCat(Plural(n, "chunk", "chunks"), " missing (", numbers,
                                       ") before the chunk at offset ", chunk.offset)
                        : absl::StrCat(Plural(n, "chunk", "chunks"), " missing (", numbers,
                                       ") between the chunks at offsets ", prev_offset, " and ",
                                       chunk.offset));
      }
      if (state.saw_end && seq > state.end_seq) {
        damage.out_of_order_chunks++;
        damage.messages.push_back(absl::StrCat("chunk ", ChunkTypeName(chunk.type), " at offset ",
                                               chunk.offset, " has sequence number ", seq,
                                               ", after the END chunk's ", state.end_seq));
      }
      expect = uint64_t{seq} + 1;
      prev_offset = chunk.offset;
    }
    if (!state.saw_end) return;
    std::map<uint16_t, std::pair<uint64_t, uint64_t>> by_type;  // type -> (END's count, read)
    for (const auto& [type, n] : state.end_counts) by_type[type].first = n;
    for (const auto& [type, n] : state.read_counts) {
      if (type != kChunkEnd) by_type[type].second = n;
    }
    for (const auto& [type, counts] : by_type) {
      const auto [listed, read] = counts;
      const std::string name = ChunkTypeName(type);
      if (read < listed) {
        damage.missing_by_type[name] += listed - read;
        damage.messages.push_back(
            absl::StrCat(Plural(listed - read, name + " chunk", name + " chunks"),
                         " missing: END counts ", listed, ", ", read, " read"));
      } else if (read > listed) {
        damage.messages.push_back(absl::StrCat(Plural(read, name + " chunk", name + " chunks"),
                                               " read, but END counts ", listed));
      }
    }
  }

 private:
  struct Seen {
    size_t offset;
    uint16_t type;
  };
  std::map<uint32_t, Seen> seen_;  // sequence number -> its first chunk
  bool any_ = false;
  uint32_t max_seq_ = 0;
  size_t max_offset_ = 0;
};

absl::Status FileHeaderError(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("not a ringprof recording: ", what));
}

absl::Status ReadAll(int fd, const std::string& name, std::string& bytes) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, absl::StrCat("reading ", name));
  if (S_ISREG(st.st_mode) && st.st_size > 0) bytes.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n == 0) break;
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      return ErrnoStatus(err, absl::StrCat("reading ", name));
    }
    bytes.append(buf, static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------
// Reader

absl::StatusOr<Recording> ParseRecording(std::string_view bytes) {
  if (bytes.empty()) return FileHeaderError("the file is empty (offset 0)");
  if (std::memcmp(bytes.data(), kFileMagic, std::min(bytes.size(), sizeof(kFileMagic))) != 0) {
    return FileHeaderError("bad magic at offset 0 (expected \"RINGPROF\")");
  }
  if (bytes.size() < 12) {
    return FileHeaderError(absl::StrCat("file header cut at offset ", bytes.size(),
                                        " (a header has ", kFileHeaderSize, " bytes)"));
  }
  const uint32_t version = GetU32(bytes.data() + 8);
  if (version == 0 || version > kFormatVersion) {
    return absl::UnimplementedError(absl::StrCat(
        "unsupported recording format version ", version, " at offset 8: this ringprof reads ",
        kFormatVersion == 1 ? "version 1" : absl::StrCat("versions 1 to ", kFormatVersion),
        version > kFormatVersion ? "; use a newer ringprof" : ""));
  }
  if (bytes.size() < kFileHeaderSize) {
    return FileHeaderError(absl::StrCat("file header cut at offset ", bytes.size(),
                                        " (a header has ", kFileHeaderSize, " bytes)"));
  }
  const uint32_t header_size = GetU32(bytes.data() + 12);
  if (header_size < kFileHeaderSize || header_size > bytes.size()) {
    return FileHeaderError(absl::StrCat("bad header size ", header_size, " at offset 12 (file has ",
                                        bytes.size(), " bytes)"));
  }
  const uint32_t flags = GetU32(bytes.data() + 16);
  // The header checksum covers the header except its own field.
  uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), 20);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + kFileHeaderSize),
              header_size - kFileHeaderSize);
  if (GetU32(bytes.data() + 20) != crc) {
    return FileHeaderError("file header checksum mismatch at offset 20");
  }
  if ((flags & kIncompatibleFlagsMask) != 0) {
    return absl::UnimplementedError(
        absl::StrFormat("recording uses unsupported features (flags %08x at offset 16); use a "
                        "newer ringprof",
                        flags & kIncompatibleFlagsMask));
  }

  Recording rec;
  rec.version = version;
  rec.meta_present = false;
  rec.stats_present = false;
  Damage& damage = rec.damage;
  ReadState state;
  state.version = version;
  SequenceCheck sequence;
  const size_t chunk_header_size = ChunkHeaderSize(version);
  uint64_t file_index = 0;  // chunks with a valid header so far (version 1's order)
  size_t pos = header_size;
  while (pos < bytes.size()) {
    ChunkHeader h;
    std::string why;
    const HeaderCheck check = CheckChunkHeader(bytes, pos, version, h, &why);
    if (check == HeaderCheck::kShort) {
      const size_t left = bytes.size() - pos;
      damage.truncated = true;
      damage.bytes_unreadable += left;
      damage.messages.push_back(absl::StrCat("file ends inside a chunk header at offset ", pos,
                                             ": ", left, " bytes unreadable"));
      break;
    }
    if (check == HeaderCheck::kBad) {
      const size_t next = FindNextChunk(bytes, pos + 1, version);
      damage.bad_chunks++;
      damage.bytes_unreadable += next - pos;
      damage.messages.push_back(
          next < bytes.size()
              ? absl::StrCat("bad chunk at offset ", pos, ": ", why, "; skipped ", next - pos,
                             " bytes to the next chunk at offset ", next)
              : absl::StrCat("bad chunk at offset ", pos, ": ", why, "; no chunk follows, ",
                             next - pos, " bytes unreadable"));
      pos = next;
      continue;
    }
    const size_t payload_pos = pos + chunk_header_size;
    const size_t available = bytes.size() - payload_pos;
    if (h.payload_size > available) {
      damage.truncated = true;
      damage.bytes_unreadable += bytes.size() - pos;
      damage.messages.push_back(absl::StrCat("file ends inside chunk ", ChunkTypeName(h.type),
                                             " at offset ", pos, ": ", available, " of ",
                                             h.payload_size, " payload bytes present"));
      break;
    }
    const std::string_view payload = bytes.substr(payload_pos, h.payload_size);
    const size_t chunk_end = payload_pos + h.payload_size;
    const uint64_t order = version >= 2 ? h.seq : file_index;
    ++file_index;
    if (version >= 2 && !sequence.Admit(h, pos, damage)) {
      pos = chunk_end;  // a repeat: its content is already in
      continue;
    }
    const uint32_t payload_crc = Crc32(payload);
    if (payload_crc != h.payload_crc) {
      damage.bad_chunks++;
      damage.bytes_unreadable += chunk_end - pos;
      damage.messages.push_back(absl::StrFormat(
          "bad chunk %s at offset %d: payload checksum mismatch (stored %08x, computed %08x); "
          "%d bytes skipped",
          ChunkTypeName(h.type), pos, h.payload_crc, payload_crc, chunk_end - pos));
      pos = chunk_end;
      continue;
    }
    if (!ApplyChunk(h, order, payload, payload_pos, rec, state, why)) {
      damage.bad_chunks++;
      damage.bytes_unreadable += chunk_end - pos;
      damage.messages.push_back(absl::StrCat("bad chunk ", ChunkTypeName(h.type), " at offset ",
                                             pos, ": ", why, "; chunk skipped"));
    }
    pos = chunk_end;
  }
  if (version >= 2) sequence.Finish(state, damage);
  if (!state.saw_end) {
    damage.missing_end = true;
    damage.messages.push_back(
        "no END chunk: the recording was not finished (collector killed or still running)");
  }
  return rec;
}

absl::StatusOr<Recording> ReadRecording(const std::string& path) {
  const bool from_stdin = path == "-";
  const std::string name = from_stdin ? std::string("standard input") : path;
  ScopedFd owned;
  if (!from_stdin) {
    owned.Reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned.valid()) return ErrnoStatus(errno, absl::StrCat("opening ", path));
  }
  std::string bytes;
  RETURN_IF_ERROR(ReadAll(from_stdin ? STDIN_FILENO : owned.get(), name, bytes));
  absl::StatusOr<Recording> rec = ParseRecording(bytes);
  if (!rec.ok()) {
    return absl::Status(rec.status().code(), absl::StrCat(name, ": ", rec.status().message()));
  }
  return rec;
}

// ---------------------------------------------------------------------------
// Writer

namespace {

// Encodes records into payloads of about kTargetChunkPayload bytes: a count
// followed by the records, each chunk decodable on its own.
template <typename Record, typename Emit>
absl::Status WriteBatches(absl::Span<const Record> records, std::string& scratch, Emit emit) {
  ByteSink sink(scratch, kMaxVarint);  // room to put the count in front
  DeltaState state;
  uint64_t count = 0;
  bool emitted = false;
  auto flush = [&]() -> absl::Status {
    char count_bytes[kMaxVarint];
    const size_t count_len = static_cast<size_t>(PutVarint(count_bytes, count) - count_bytes);
    char* start = sink.data() + kMaxVarint - count_len;
    std::memcpy(start, count_bytes, count_len);
    RETURN_IF_ERROR(emit(std::string_view(start, sink.size() - (kMaxVarint - count_len))));
    sink.Truncate(kMaxVarint);
    state = DeltaState{};
    count = 0;
    emitted = true;
    return absl::OkStatus();
  };
  for (const Record& r : records) {
    EncodeRecord(sink, r, state);
    ++count;
    if (sink.size() - kMaxVarint >= kTargetChunkPayload) RETURN_IF_ERROR(flush());
  }
  if (count > 0 || !emitted) RETURN_IF_ERROR(flush());
  return absl::OkStatus();
}

}  // namespace

namespace {

// A recording embeds /proc/kallsyms as root reads it, which gives away the
// kernel's KASLR offset: only its owner may read it. Devices and FIFOs
// (/dev/null, a pipe) are not ours to change.
absl::Status MakePrivate(int fd, const std::string& name) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, absl::StrCat("creating ", name));
  if (S_ISREG(st.st_mode) && (st.st_mode & 07777) != 0600 && ::fchmod(fd, 0600) != 0) {
    return ErrnoStatus(errno, absl::StrCat("making ", name, " private (mode 0600)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<RecordingWriter>> RecordingWriter::Create(const std::string& path) {
  ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("creating ", path));
  // O_TRUNC has emptied an existing file, so nothing is readable under its
  // old mode once it is 0600.
  RETURN_IF_ERROR(MakePrivate(fd.get(), path));
  std::FILE* f = ::fdopen(fd.get(), "wb");
  if (f == nullptr) return ErrnoStatus(errno, absl::StrCat("creating ", path));
  fd.Release();
  return StartFile(f, path);
}

absl::StatusOr<std::unique_ptr<RecordingWriter>> RecordingWriter::CreateForFd(
    int fd, std::string display_name) {
  ScopedFd dup(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!dup.valid()) return ErrnoStatus(errno, absl::StrCat("writing ", display_name));
  RETURN_IF_ERROR(MakePrivate(dup.get(), display_name));
  std::FILE* f = ::fdopen(dup.get(), "wb");
  if (f == nullptr) return ErrnoStatus(errno, absl::StrCat("writing ", display_name));
  dup.Release();
  return StartFile(f, std::move(display_name));
}

absl::StatusOr<std::unique_ptr<RecordingWriter>> RecordingWriter::StartFile(std::FILE* f,
                                                                            std::string name) {
  std::unique_ptr<RecordingWriter> w(new RecordingWriter(f, std::move(name)));
  char header[kFileHeaderSize];
  std::memcpy(header, kFileMagic, sizeof(kFileMagic));
  PutU32(header + 8, kFormatVersion);
  PutU32(header + 12, kFileHeaderSize);
  PutU32(header + 16, 0);  // flags
  PutU32(header + 20, Crc32(std::string_view(header, 20)));
  errno = 0;
  if (std::fwrite(header, 1, sizeof(header), f) != sizeof(header) || std::fflush(f) != 0) {
    return ErrnoStatus(errno != 0 ? errno : EIO, absl::StrCat("writing ", w->path_));
  }
  w->offset_ = sizeof(header);
  return w;
}

RecordingWriter::~RecordingWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status RecordingWriter::CheckWritable() const {
  if (!failure_.ok()) return failure_;
  if (finished_ || file_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("writing ", path_, ": already finished"));
  }
  return absl::OkStatus();
}

absl::Status RecordingWriter::WriteChunk(uint32_t type, std::string_view payload) {
  RETURN_IF_ERROR(CheckWritable());
  if (payload.size() > kMaxChunkPayload) {
    return absl::InvalidArgumentError(
        absl::StrCat("writing ", path_, ": chunk ", ChunkTypeName(static_cast<uint16_t>(type)),
                     " of ", payload.size(), " bytes exceeds the limit of ", kMaxChunkPayload));
  }
  if (next_seq_ == UINT32_MAX) {
    return absl::ResourceExhaustedError(
        absl::StrCat("writing ", path_, ": a recording holds at most ", UINT32_MAX, " chunks"));
  }
  char header[kChunkHeaderSizeV2];
  std::memcpy(header, kChunkMarker, sizeof(kChunkMarker));
  PutU16(header + 4, static_cast<uint16_t>(type));
  PutU16(header + 6, 0);  // flags
  PutU32(header + 8, next_seq_);
  PutU32(header + 12, static_cast<uint32_t>(payload.size()));
  PutU32(header + 16, Crc32(payload));
  PutU32(header + 20, Crc32(std::string_view(header, 20)));
  errno = 0;
  if (std::fwrite(header, 1, sizeof(header), file_) != sizeof(header) ||
      (!payload.empty() &&
       std::fwrite(payload.data(), 1, payload.size(), file_) != payload.size()) ||
      std::fflush(file_) != 0) {
    failure_ = ErrnoStatus(errno != 0 ? errno : EIO, absl::StrCat("writing ", path_));
    return failure_;
  }
  offset_ += sizeof(header) + payload.size();
  ++next_seq_;
  ++chunks_by_type_[static_cast<uint16_t>(type)];
  return absl::OkStatus();
}

absl::Status RecordingWriter::WriteMeta(const std::map<std::string, std::string>& meta,
                                        absl::Span<const EventDesc> events,
                                        absl::Span<const EventDesc> counters,
                                        uint64_t start_time_ns) {
  ByteSink sink(scratch_, 0);
  AppendVarint(sink, start_time_ns);
  AppendVarint(sink, meta.size());
  for (const auto& [key, value] : meta) {
    AppendString(sink, key);
    AppendString(sink, value);
  }
  for (auto list : {events, counters}) {
    AppendVarint(sink, list.size());
    for (const EventDesc& e : list) EncodeEvent(sink, e);
  }
  return WriteChunk(kChunkMeta, std::string_view(sink.data(), sink.size()));
}

absl::Status RecordingWriter::WriteMappings(absl::Span<const Mapping> mappings) {
  return WriteBatches(mappings, scratch_,
                      [this](std::string_view p) { return WriteChunk(kChunkMappings, p); });
}

absl::Status RecordingWriter::WriteTasks(absl::Span<const TaskEvent> tasks) {
  return WriteBatches(tasks, scratch_,
                      [this](std::string_view p) { return WriteChunk(kChunkTasks, p); });
}

absl::Status RecordingWriter::WriteSamples(absl::Span<const Sample> samples) {
  return WriteBatches(samples, scratch_,
                      [this](std::string_view p) { return WriteChunk(kChunkSamples, p); });
}

absl::Status RecordingWriter::WriteKallsyms(std::string_view text) {
  do {
    const std::string_view piece = text.substr(0, kKallsymsPiece);
    text.remove_prefix(piece.size());
    uLongf bound = compressBound(piece.size());
    ByteSink sink(scratch_, 0);
    char* p = PutVarint(sink.Reserve(kMaxVarint + bound), piece.size());
    const int rc =
        compress2(reinterpret_cast<Bytef*>(p), &bound, reinterpret_cast<const Bytef*>(piece.data()),
                  piece.size(), Z_DEFAULT_COMPRESSION);
    if (rc != Z_OK) {
      return absl::InternalError(
          absl::StrCat("writing ", path_, ": compressing kallsyms failed (zlib error ", rc, ")"));
    }
    sink.Commit(p + bound);
    RETURN_IF_ERROR(WriteChunk(kChunkKallsyms, std::string_view(sink.data(), sink.size())));
  } while (!text.empty());
  return absl::OkStatus();
}

absl::Status RecordingWriter::WriteCounterScaling(absl::Span<const CounterScaling> scaling) {
  ByteSink out(scratch_, 0);
  AppendVarint(out, scaling.size());
  for (const CounterScaling& c : scaling) {
    AppendVarint(out, c.time_enabled_ns);
    AppendVarint(out, c.time_running_ns);
  }
  return WriteChunk(kChunkCounterScaling, std::string_view(out.data(), out.size()));
}

absl::Status RecordingWriter::WriteImage(std::string_view name, std::string_view bytes) {
  if (name.empty()) return absl::InvalidArgumentError("an IMAGE chunk needs a name");
  ByteSink out(scratch_, 0);
  AppendString(out, name);
  AppendString(out, bytes);
  return WriteChunk(kChunkImage, std::string_view(out.data(), out.size()));
}

absl::Status RecordingWriter::WriteKernel(const KernelInfo& kernel) {
  ByteSink out(scratch_, 0);
  AppendString(out, kernel.build_id);
  AppendVarint(out, kernel.modules_known ? kKernelModulesKnown : 0);
  AppendVarint(out, kernel.modules.size());
  for (const KernelModule& m : kernel.modules) {
    AppendString(out, m.name);
    AppendVarint(out, m.size);
    AppendVarint(out, m.address);
    AppendString(out, m.build_id);
  }
  return WriteChunk(kChunkKernel, std::string_view(out.data(), out.size()));
}

absl::Status RecordingWriter::WriteStats(const LossStats& loss) {
  // Every field is written, zeros included: a field that is present was
  // counted, one that is absent (a later field, read by this version) was
  // not.
  ByteSink stats(scratch_, 0);
  for (const StatsFieldRef& f : kStatsFields) {
    AppendVarint(stats, f.id);
    AppendVarint(stats, loss.*f.field);
  }
  return WriteChunk(kChunkStats, std::string_view(stats.data(), stats.size()));
}

absl::Status RecordingWriter::Finish(const LossStats& loss, uint64_t end_time_ns) {
  RETURN_IF_ERROR(WriteStats(loss));
  ByteSink end(scratch_, 0);
  AppendVarint(end, end_time_ns);
  AppendVarint(end, chunks_by_type_.size());
  for (const auto& [type, count] : chunks_by_type_) {
    AppendVarint(end, type);
    AppendVarint(end, count);
  }
  RETURN_IF_ERROR(WriteChunk(kChunkEnd, std::string_view(end.data(), end.size())));
  std::FILE* f = std::exchange(file_, nullptr);
  finished_ = true;
  errno = 0;
  if (std::fclose(f) != 0) {
    failure_ = ErrnoStatus(errno != 0 ? errno : EIO, absl::StrCat("closing ", path_));
    return failure_;
  }
  return absl::OkStatus();
}

}  // namespace ringprof::formats
