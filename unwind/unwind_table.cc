#include "unwind/unwind_table.h"

#include <algorithm>

namespace ringprof::unwind {

const UnwindRow* UnwindTable::Find(uint64_t pc) const {
  auto it = std::upper_bound(rows.begin(), rows.end(), pc,
                             [](uint64_t p, const UnwindRow& r) { return p < r.pc; });
  if (it == rows.begin()) return nullptr;
  return &*(it - 1);
}

void MarkEntryPoint(UnwindTable& table, uint64_t entry, uint64_t length) {
  if (length == 0) return;
  const UnwindRow* at = table.Find(entry);
  if (at != nullptr && at->cfa_base != CfaBase::kNoInfo) return;
  auto first = std::lower_bound(table.rows.begin(), table.rows.end(), entry,
                                [](const UnwindRow& r, uint64_t pc) { return r.pc < pc; });
  // Rows inside [entry, entry + length) that say "no information" are the
  // entry code too; a rule found there is kept, and so is everything after.
  auto last = first;
  while (last != table.rows.end() && last->pc - entry < length &&
         last->cfa_base == CfaBase::kNoInfo) {
    ++last;
  }
  UnwindRow end;
  end.pc = entry;
  end.cfa_base = CfaBase::kUndefined;
  std::vector<UnwindRow> replacement{end};
  if (last == table.rows.end() || last->pc > entry + length) {
    // The gap goes on past the entry code: it is "no information" again.
    UnwindRow gap;
    gap.pc = entry + length;
    replacement.push_back(gap);
  }
  auto pos = table.rows.erase(first, last);
  table.rows.insert(pos, replacement.begin(), replacement.end());
}

}  // namespace ringprof::unwind
