#include "unwind/unwind_table.h"

#include <algorithm>

namespace ringprof::unwind {

const UnwindRow* UnwindTable::Find(uint64_t pc) const {
  auto it = std::upper_bound(rows.begin(), rows.end(), pc,
                             [](uint64_t p, const UnwindRow& r) { return p < r.pc; });
  if (it == rows.begin()) return nullptr;
  return &*(it - 1);
}

}  // namespace ringprof::unwind
