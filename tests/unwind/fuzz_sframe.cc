// libFuzzer target: ParseSframe + BuildTableFromSframe on arbitrary bytes.
// Whatever parses must give a sorted table that agrees with the format's
// own lookup at every row start and just before it.
#include <cstdint>
#include <cstdlib>

#include "unwind/sframe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ringprof::unwind::CfaBase;
  auto section = ringprof::unwind::ParseSframe(absl::Span<const uint8_t>(data, size), 0x400000);
  if (!section.ok()) return 0;
  auto table = ringprof::unwind::BuildTableFromSframe(*section);
  if (!table.ok()) return 0;
  for (size_t i = 1; i < table->rows.size(); ++i) {
    if (table->rows[i].pc <= table->rows[i - 1].pc) std::abort();
  }
  for (const auto& row : table->rows) {
    if (row.cfa_base == CfaBase::kUnsupported) continue;
    for (uint64_t pc : {row.pc, row.pc - 1}) {
      const auto* found = table->Find(pc);
      auto match = section->Lookup(pc);
      const bool table_has = found != nullptr && found->cfa_base != CfaBase::kNoInfo;
      if (found != nullptr && found->cfa_base == CfaBase::kUnsupported) continue;
      if (table_has != match.has_value()) std::abort();
      const bool has_cfa =
          table_has && (found->cfa_base == CfaBase::kSp || found->cfa_base == CfaBase::kFp);
      if (has_cfa && match->fre->cfa_offset != found->cfa_offset) std::abort();
    }
  }
  return 0;
}
