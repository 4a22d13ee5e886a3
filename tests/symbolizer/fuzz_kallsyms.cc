// libFuzzer target for KernelSymbols::Parse: any bytes must give a status
// or a table, never a crash; lookups on a parsed table must stay in bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "symbolizer/symbolizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto symbols = ringprof::symbolizer::KernelSymbols::Parse(text);
  if (!symbols.ok()) return 0;
  uint64_t probe = 0;
  for (size_t i = 0; i < size && i < 8; ++i) probe = (probe << 8) | data[i];
  for (uint64_t a : {uint64_t{0}, probe, probe + 1, ~uint64_t{0}}) {
    ringprof::symbolizer::SymbolizedAddress r = symbols->Lookup(a);
    if (r.status.ok() && r.frames.size() != 1) __builtin_trap();
  }
  return 0;
}
