// Byte-level edits of version 2 recordings for tests: walk the chunks, and
// remove, copy or swap whole chunks the way a bad copy or a careless `cat`
// would, recomputing nothing (so the sequence numbers give the edit away).
// Renumbered() is the opposite: it rewrites sequence numbers, END's counts
// and the checksums that cover them, as if a writer had written the edited
// chunk list, for tests that need an intact file with a hand-made chunk in
// it. Layout: docs/FORMAT.md.
#ifndef RINGPROF_TESTS_FORMATS_RECORDING_EDIT_H_
#define RINGPROF_TESTS_FORMATS_RECORDING_EDIT_H_

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ringprof::formats::testing {

inline constexpr size_t kV2ChunkHeader = 24;

inline uint32_t EditGetU32(std::string_view b, size_t off) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<uint8_t>(b[off + i])) << (8 * i);
  return v;
}

inline void EditPutU32(std::string& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<char>(v >> (8 * i));
}

inline uint32_t EditCrc(std::string_view s) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

inline void EditPutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// A version 2 chunk built from its parts.
inline std::string MakeChunkV2(uint16_t type, uint32_t seq, std::string_view payload) {
  std::string h(kV2ChunkHeader, '\0');
  h[0] = 'R', h[1] = 'P', h[2] = 'C', h[3] = 'K';
  h[4] = static_cast<char>(type);
  h[5] = static_cast<char>(type >> 8);
  EditPutU32(h, 8, seq);
  EditPutU32(h, 12, static_cast<uint32_t>(payload.size()));
  EditPutU32(h, 16, EditCrc(payload));
  EditPutU32(h, 20, EditCrc(std::string_view(h).substr(0, 20)));
  return h + std::string(payload);
}

// An END payload: end time, then (type, count) pairs.
inline std::string EndPayloadV2(uint64_t end_time_ns, const std::map<uint16_t, uint64_t>& counts) {
  std::string p;
  EditPutVarint(p, end_time_ns);
  EditPutVarint(p, counts.size());
  for (const auto& [type, n] : counts) {
    EditPutVarint(p, type);
    EditPutVarint(p, n);
  }
  return p;
}

struct ChunkSpan {
  uint16_t type = 0;
  uint32_t seq = 0;
  size_t offset = 0;  // of the chunk header
  size_t size = 0;    // header + payload
};

// The chunks of an intact version 2 file, in file order. Stops at the first
// position that does not hold a whole chunk; `*end` (if given) is that
// position.
inline std::vector<ChunkSpan> ChunksOf(std::string_view b, size_t* end = nullptr) {
  std::vector<ChunkSpan> out;
  size_t pos = b.size() >= 24 ? EditGetU32(b, 12) : b.size();
  while (pos + kV2ChunkHeader <= b.size() && b.substr(pos, 4) == "RPCK") {
    const uint32_t payload = EditGetU32(b, pos + 12);
    if (payload > b.size() - pos - kV2ChunkHeader) break;
    ChunkSpan c;
    c.type = static_cast<uint16_t>(static_cast<uint8_t>(b[pos + 4]) |
                                   static_cast<uint8_t>(b[pos + 5]) << 8);
    c.seq = EditGetU32(b, pos + 8);
    c.offset = pos;
    c.size = kV2ChunkHeader + payload;
    out.push_back(c);
    pos += c.size;
  }
  if (end != nullptr) *end = pos;
  return out;
}

// The n-th chunk (0-based) of `type`, or nullptr.
inline const ChunkSpan* NthChunk(const std::vector<ChunkSpan>& chunks, uint16_t type, size_t n) {
  for (const ChunkSpan& c : chunks) {
    if (c.type == type && n-- == 0) return &c;
  }
  return nullptr;
}

inline std::string WithoutChunk(std::string_view b, const ChunkSpan& c) {
  std::string out(b);
  out.erase(c.offset, c.size);
  return out;
}

// A copy of chunk `c` inserted at byte position `at` (a chunk boundary).
inline std::string WithCopyOfChunk(std::string_view b, const ChunkSpan& c, size_t at) {
  std::string out(b);
  out.insert(at, b.substr(c.offset, c.size));
  return out;
}

inline std::string WithChunksSwapped(std::string_view b, ChunkSpan x, ChunkSpan y) {
  if (y.offset < x.offset) std::swap(x, y);
  std::string out(b.substr(0, x.offset));
  out += b.substr(y.offset, y.size);
  out += b.substr(x.offset + x.size, y.offset - (x.offset + x.size));
  out += b.substr(x.offset, x.size);
  out += b.substr(y.offset + y.size);
  return out;
}

// Rewrites the chunks' sequence numbers to 0, 1, 2, ... in file order and
// every END chunk's counts to the chunks of each type before it, fixing the
// header checksums (and END's payload checksum). Payload checksums of the
// other chunks are left as they are, so a chunk made bad on purpose stays
// bad. Bytes after the last whole chunk are kept.
inline std::string Renumbered(std::string_view b) {
  size_t end = 0;
  const std::vector<ChunkSpan> chunks = ChunksOf(b, &end);
  std::string out(b.substr(0, chunks.empty() ? end : chunks[0].offset));
  std::map<uint16_t, uint64_t> counts;
  uint32_t seq = 0;
  for (const ChunkSpan& c : chunks) {
    std::string chunk(b.substr(c.offset, c.size));
    if (c.type == 7) {
      // Keep the end time (the first varint), recount the rest.
      uint64_t end_time = 0;
      for (size_t i = kV2ChunkHeader, shift = 0; i < chunk.size() && shift < 64; ++i, shift += 7) {
        end_time |= static_cast<uint64_t>(static_cast<uint8_t>(chunk[i]) & 0x7f) << shift;
        if ((static_cast<uint8_t>(chunk[i]) & 0x80) == 0) break;
      }
      chunk = MakeChunkV2(7, seq, EndPayloadV2(end_time, counts));
    } else {
      EditPutU32(chunk, 8, seq);
      EditPutU32(chunk, 20, EditCrc(std::string_view(chunk).substr(0, 20)));
      ++counts[c.type];
    }
    out += chunk;
    ++seq;
  }
  out += b.substr(end);
  return out;
}

}  // namespace ringprof::formats::testing

#endif  // RINGPROF_TESTS_FORMATS_RECORDING_EDIT_H_
