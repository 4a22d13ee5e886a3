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
// payload and header CRCs (layout: docs/FORMAT.md).
std::string WithChecksumsFixed(std::string b) {
  if (b.size() < 24) return b;
  const uint32_t header_size = GetU32(b.data() + 12);
  if (header_size < 24 || header_size > b.size()) return b;
  uint32_t crc = Crc(b.data(), 20);
  crc = static_cast<uint32_t>(
      crc32(crc, reinterpret_cast<const Bytef*>(b.data() + 24), header_size - 24));
  PutU32(b.data() + 20, crc);
  size_t pos = header_size;
  while (pos + 20 <= b.size()) {
    if (std::memcmp(b.data() + pos, "RPCK", 4) != 0) {
      ++pos;
      continue;
    }
    const uint32_t len = GetU32(b.data() + pos + 8);
    if (len <= b.size() - pos - 20) PutU32(b.data() + pos + 12, Crc(b.data() + pos + 20, len));
    PutU32(b.data() + pos + 16, Crc(b.data() + pos, 16));
    pos += 20 + (len <= b.size() - pos - 20 ? len : 0);
  }
  return b;
}

void Parse(std::string_view bytes) {
  auto rec = ringprof::formats::ParseRecording(bytes);
  if (!rec.ok()) return;
  // Touch what was decoded so that a wrong size shows up under ASan.
  size_t sum = rec->kallsyms.size() + rec->damage.messages.size();
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
