// libFuzzer target for the recording reader: ParseRecording must never
// crash, hang, read out of bounds or allocate without bound, whatever the
// bytes. Seeds: tests/formats/fuzz_corpus/recording/.
//
// Each input is parsed twice: as is, which exercises the header checks and
// the resynchronization after damage, and with its checksums recomputed
// where the chunk layout allows, so that mutated payloads reach the chunk
// decoders instead of stopping at a CRC mismatch (a hostile file can carry
// correct checksums too).
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "formats/recording.h"

namespace {

uint32_t Crc(const char* p, size_t n) {
  return static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

uint32_t GetU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // x86-64 and arm64 are little-endian, as is the format
  return v;
}

void PutU32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }

// Recomputes the file header CRC and, walking chunk by chunk, each chunk's
// payload and header CRCs (layout: docs/FORMAT.md; the chunk header has 20
// bytes in version 1 and 24, with a sequence number, since version 2).
std::string WithChecksumsFixed(std::string b) {
  if (b.size() < 24) return b;
  const uint32_t header_size = GetU32(b.data() + 12);
  if (header_size < 24 || header_size > b.size()) return b;
  uint32_t crc = Crc(b.data(), 20);
  crc = static_cast<uint32_t>(
      crc32(crc, reinterpret_cast<const Bytef*>(b.data() + 24), header_size - 24));
  PutU32(b.data() + 20, crc);
  const size_t chunk_header = GetU32(b.data() + 8) >= 2 ? 24 : 20;
  const size_t size_at = chunk_header == 24 ? 12 : 8;  // then payload crc, header crc
  size_t pos = header_size;
  while (pos + chunk_header <= b.size()) {
    if (std::memcmp(b.data() + pos, "RPCK", 4) != 0) {
      ++pos;
      continue;
    }
    const uint32_t len = GetU32(b.data() + pos + size_at);
    const bool fits = len <= b.size() - pos - chunk_header;
    if (fits) PutU32(b.data() + pos + size_at + 4, Crc(b.data() + pos + chunk_header, len));
    PutU32(b.data() + pos + chunk_header - 4, Crc(b.data() + pos, chunk_header - 4));
    pos += chunk_header + (fits ? len : 0);
  }
  return b;
}

void Parse(std::string_view bytes) {
  auto rec = ringprof::formats::ParseRecording(bytes);
  if (!rec.ok()) return;
  // Touch what was decoded so that a wrong size shows up under ASan.
  size_t sum =
      rec->kallsyms.size() + rec->damage.messages.size() + rec->damage.missing_by_type.size();
  for (const auto& s : rec->samples) {
    for (uint64_t ip : s.kernel_ips) sum += ip & 1;
    for (const auto& f : s.user_frames) sum += f.address & 1;
    sum += s.counter_deltas.size();
  }
  for (const auto& m : rec->mappings) sum += m.path.size() + m.build_id.size();
  if (sum == 0xdeadbeef) std::abort();  // keeps the loops from being optimized out
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  Parse(raw);
  const std::string fixed = WithChecksumsFixed(std::string(raw));
  if (fixed != raw) Parse(fixed);
  return 0;
}
