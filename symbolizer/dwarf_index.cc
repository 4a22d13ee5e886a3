#include "symbolizer/dwarf_index.h"

#include <cxxabi.h>
#include <dwarf.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ringprof::symbolizer {
namespace {

// Deeper nesting than this is treated as corrupt input rather than recursed.
constexpr int kMaxDepth = 512;

absl::Status DwarfError(absl::string_view what) {
  return absl::DataLossError(absl::StrCat(what, ": ", dwarf_errmsg(-1)));
}

// Appends every [lo, hi) range of `die` to `out`. Returns false on a libdw error.
template <typename F>
bool ForEachRange(Dwarf_Die* die, F&& f) {
  Dwarf_Addr base, start, end;
  ptrdiff_t off = 0;
  while ((off = dwarf_ranges(die, off, &base, &start, &end)) > 0) {
    if (start < end) f(start, end);
  }
  return off == 0;
}

bool IsScopeContainer(int tag) {
  switch (tag) {
    case DW_TAG_namespace:
    case DW_TAG_class_type:
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_lexical_block:
    case DW_TAG_try_block:
    case DW_TAG_catch_block:
    case DW_TAG_module:
      return true;
    default:
      return false;
  }
}

struct RawRange {
  uint64_t lo, hi;
  int32_t node;
  int32_t depth;
};

}  // namespace

std::string Demangle(const std::string& name) {
  if (name.size() < 2 || name[0] != '_' || name[1] != 'Z') return name;
  int status = 0;
  char* out = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  if (out == nullptr || status != 0) {
    std::free(out);
    return name;
  }
  std::string result(out);
  std::free(out);
  return result;
}

absl::StatusOr<std::unique_ptr<DwarfIndex>> DwarfIndex::Create(Dwarf* dwarf, bool demangle) {
  std::unique_ptr<DwarfIndex> index(new DwarfIndex(dwarf, demangle));
  Dwarf_CU* cu = nullptr;
  Dwarf_CU* next = nullptr;
  Dwarf_Half version = 0;
  uint8_t unit_type = 0;
  Dwarf_Die cudie, subdie;
  int rc;
  while ((rc = dwarf_get_units(dwarf, cu, &next, &version, &unit_type, &cudie, &subdie)) == 0) {
    cu = next;
    if (unit_type != DW_UT_compile && unit_type != DW_UT_partial) continue;
    const int tag = dwarf_tag(&cudie);
    if (tag != DW_TAG_compile_unit && tag != DW_TAG_partial_unit) continue;
    Unit unit;
    unit.die_offset = dwarf_dieoffset(&cudie);
    const uint32_t id = index->units_.size();
    const bool ok = ForEachRange(&cudie, [&](uint64_t lo, uint64_t hi) {
      index->ranges_.push_back({lo, hi, id});
      unit.has_ranges = true;
    });
    if (!ok) unit.has_ranges = false;
    index->units_.push_back(std::move(unit));
  }
  if (rc < 0) {
    if (index->units_.empty()) return DwarfError("reading DWARF unit headers");
    // The units read so far still answer; addresses no unit claims may sit
    // in the unreadable rest, so they get this error instead of NotFound.
    index->units_status_ = DwarfError(
        absl::StrFormat("reading DWARF unit headers after %u units", index->units_.size()));
  }
  std::sort(index->ranges_.begin(), index->ranges_.end(),
            [](const UnitRange& a, const UnitRange& b) { return a.lo < b.lo; });
  return index;
}

size_t DwarfIndex::indexed_unit_count() const {
  return std::count_if(units_.begin(), units_.end(), [](const Unit& u) { return u.indexed; });
}

int DwarfIndex::FindUnit(uint64_t vaddr) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), vaddr,
                             [](uint64_t v, const UnitRange& r) { return v < r.lo; });
  // Unit ranges are normally disjoint; look back a few in case some overlap.
  for (int i = 0; i < 8 && it != ranges_.begin(); ++i) {
    --it;
    if (vaddr < it->hi) return it->unit;
  }
  return -1;
}

void DwarfIndex::IndexRangelessUnits() {
  rangeless_done_ = true;
  bool added = false;
  for (uint32_t id = 0; id < units_.size(); ++id) {
    Unit& unit = units_[id];
    if (unit.has_ranges || unit.indexed) continue;
    if (!IndexUnit(unit).ok()) continue;
    for (const Segment& s : unit.index->segments) {
      if (!ranges_.empty() && ranges_.back().unit == id && ranges_.back().hi == s.lo) {
        ranges_.back().hi = s.hi;
      } else {
        ranges_.push_back({s.lo, s.hi, id});
      }
      added = true;
    }
  }
  if (added) {
    std::stable_sort(ranges_.begin(), ranges_.end(),
                     [](const UnitRange& a, const UnitRange& b) { return a.lo < b.lo; });
  }
}

absl::Status DwarfIndex::IndexUnit(Unit& unit) {
  unit.indexed = true;
  auto index = std::make_unique<UnitIndex>();
  Dwarf_Die cudie;
  if (dwarf_offdie(dwarf_, unit.die_offset, &cudie) == nullptr) {
    unit.status = DwarfError(absl::StrFormat("reading unit DIE at 0x%x", unit.die_offset));
    return unit.status;
  }

  // Call files are indices into the unit's file table. A unit that points
  // at a line table it cannot read is unreadable as a whole: its addresses
  // would otherwise come back without lines and without an error.
  const bool has_lines = dwarf_hasattr(&cudie, DW_AT_stmt_list) != 0;
  Dwarf_Files* files = nullptr;
  size_t nfiles = 0;
  if (dwarf_getsrcfiles(&cudie, &files, &nfiles) != 0) {
    if (has_lines) {
      unit.status = DwarfError(
          absl::StrFormat("reading the line table header of the unit at 0x%x", unit.die_offset));
      return unit.status;
    }
    files = nullptr;
    nfiles = 0;
  }

  std::vector<RawRange> raw;
  absl::Status walk_status;
  // Iterative-by-recursion walk over DIEs that can hold code.
  auto walk = [&](auto&& self, Dwarf_Die* parent, int32_t parent_node, int depth) -> void {
    if (depth > kMaxDepth) {
      walk_status = absl::DataLossError(absl::StrFormat("DIE nesting deeper than %d at 0x%x",
                                                        kMaxDepth, dwarf_dieoffset(parent)));
      return;
    }
    Dwarf_Die child;
    int rc = dwarf_child(parent, &child);
    if (rc < 0) {
      walk_status =
          DwarfError(absl::StrFormat("reading children of DIE 0x%x", dwarf_dieoffset(parent)));
      return;
    }
    if (rc > 0) return;
    do {
      if (!walk_status.ok()) return;
      const int tag = dwarf_tag(&child);
      if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
        const bool inlined = tag == DW_TAG_inlined_subroutine;
        const int32_t id = index->nodes.size();
        bool any = false;
        ForEachRange(&child, [&](uint64_t lo, uint64_t hi) {
          raw.push_back({lo, hi, id, depth});
          any = true;
        });
        if (any) {
          Node node{dwarf_dieoffset(&child), inlined ? parent_node : -1, inlined, 0, nullptr};
          if (inlined) {
            Dwarf_Attribute attr;
            Dwarf_Word value;
            if (dwarf_formudata(dwarf_attr(&child, DW_AT_call_line, &attr), &value) == 0) {
              node.call_line = static_cast<uint32_t>(value);
            }
            if (files != nullptr &&
                dwarf_formudata(dwarf_attr(&child, DW_AT_call_file, &attr), &value) == 0 &&
                value < nfiles) {
              node.call_file = dwarf_filesrc(files, value, nullptr, nullptr);
            }
          }
          index->nodes.push_back(node);
          self(self, &child, id, depth + 1);
        } else {
          // A subprogram without code (a declaration, an abstract instance)
          // can still hold concrete code DIEs: gcc nests instantiations over
          // function-local types (lambdas) inside it.
          self(self, &child, parent_node, depth + 1);
        }
      } else if (IsScopeContainer(tag)) {
        self(self, &child, parent_node, depth + 1);
      }
      rc = dwarf_siblingof(&child, &child);
    } while (rc == 0);
    if (rc < 0 && walk_status.ok()) {
      walk_status =
          DwarfError(absl::StrFormat("reading siblings in DIE 0x%x", dwarf_dieoffset(parent)));
    }
  };
  walk(walk, &cudie, -1, 0);
  if (!walk_status.ok()) {
    unit.status = walk_status;
    return unit.status;
  }

  // Flatten the nested ranges into disjoint segments naming the innermost node.
  std::sort(raw.begin(), raw.end(), [](const RawRange& a, const RawRange& b) {
    if (a.lo != b.lo) return a.lo < b.lo;
    if (a.depth != b.depth) return a.depth < b.depth;
    return a.hi > b.hi;
  });
  auto emit = [&](uint64_t lo, uint64_t hi, int32_t node) {
    if (lo >= hi) return;
    auto& segs = index->segments;
    if (!segs.empty() && segs.back().node == node && segs.back().hi == lo) {
      segs.back().hi = hi;
    } else {
      segs.push_back({lo, hi, node});
    }
  };
  std::vector<const RawRange*> stack;
  uint64_t cur = 0;
  for (const RawRange& r : raw) {
    while (!stack.empty() && stack.back()->hi <= r.lo) {
      const RawRange* t = stack.back();
      stack.pop_back();
      if (cur < t->hi) {
        emit(cur, t->hi, t->node);
        cur = t->hi;
      }
    }
    if (!stack.empty() && cur < r.lo) emit(cur, r.lo, stack.back()->node);
    cur = std::max(cur, r.lo);
    stack.push_back(&r);
  }
  while (!stack.empty()) {
    const RawRange* t = stack.back();
    stack.pop_back();
    if (cur < t->hi) {
      emit(cur, t->hi, t->node);
      cur = t->hi;
    }
  }

  // Line table, sorted by address; at one address an end_sequence row sorts
  // first so that the row starting the next sequence wins.
  Dwarf_Lines* lines = nullptr;
  size_t nlines = 0;
  if (dwarf_getsrclines(&cudie, &lines, &nlines) != 0) {
    if (has_lines) {
      unit.status = DwarfError(
          absl::StrFormat("reading the line table of the unit at 0x%x", unit.die_offset));
      return unit.status;
    }
  } else {
    index->rows.reserve(nlines);
    for (size_t i = 0; i < nlines; ++i) {
      Dwarf_Line* line = dwarf_onesrcline(lines, i);
      if (line == nullptr) continue;
      LineRow row{};
      Dwarf_Addr addr;
      int lineno = 0;
      bool end_seq = false;
      unsigned int disc = 0;
      if (dwarf_lineaddr(line, &addr) != 0) continue;
      dwarf_lineno(line, &lineno);
      dwarf_lineendsequence(line, &end_seq);
      dwarf_linediscriminator(line, &disc);
      row.addr = addr;
      row.line = lineno > 0 ? static_cast<uint32_t>(lineno) : 0;
      row.file = dwarf_linesrc(line, nullptr, nullptr);
      row.discriminator = disc;
      row.end_sequence = end_seq;
      index->rows.push_back(row);
    }
    std::stable_sort(index->rows.begin(), index->rows.end(),
                     [](const LineRow& a, const LineRow& b) {
                       if (a.addr != b.addr) return a.addr < b.addr;
                       return a.end_sequence && !b.end_sequence;
                     });
  }
  unit.index = std::move(index);
  return absl::OkStatus();
}

const DwarfIndex::Name& DwarfIndex::ResolveName(Dwarf_Off off) {
  auto [it, inserted] = names_.try_emplace(off);
  if (!inserted) return it->second;
  Name& name = it->second;
  Dwarf_Die die;
  if (dwarf_offdie(dwarf_, off, &die) == nullptr) return name;
  // dwarf_attr_integrate follows DW_AT_abstract_origin / DW_AT_specification.
  Dwarf_Attribute attr;
  const char* linkage = dwarf_formstring(dwarf_attr_integrate(&die, DW_AT_linkage_name, &attr));
  if (linkage == nullptr) {
    linkage = dwarf_formstring(dwarf_attr_integrate(&die, DW_AT_MIPS_linkage_name, &attr));
  }
  const char* plain = dwarf_formstring(dwarf_attr_integrate(&die, DW_AT_name, &attr));
  if (linkage != nullptr) {
    name.linkage = linkage;
    name.function = demangle_ ? Demangle(name.linkage) : name.linkage;
  } else if (plain != nullptr) {
    name.function = plain;
  }
  return name;
}

absl::Status DwarfIndex::Symbolize(uint64_t vaddr, bool inlines, std::vector<SourceFrame>* frames) {
  frames->clear();
  int id = FindUnit(vaddr);
  if (id < 0 && !rangeless_done_) {
    IndexRangelessUnits();
    id = FindUnit(vaddr);
  }
  if (id < 0) {
    if (!units_status_.ok()) return units_status_;
    return absl::NotFoundError(absl::StrFormat("no DWARF unit covers 0x%x", vaddr));
  }
  Unit& unit = units_[id];
  if (!unit.indexed) (void)IndexUnit(unit);
  if (!unit.status.ok()) return unit.status;
  const UnitIndex& index = *unit.index;

  // Innermost node covering the address.
  int32_t node = -1;
  auto seg = std::upper_bound(index.segments.begin(), index.segments.end(), vaddr,
                              [](uint64_t v, const Segment& s) { return v < s.lo; });
  if (seg != index.segments.begin() && vaddr < std::prev(seg)->hi) node = std::prev(seg)->node;

  // Line table row: the last row at or before the address.
  const LineRow* row = nullptr;
  auto r = std::upper_bound(index.rows.begin(), index.rows.end(), vaddr,
                            [](uint64_t v, const LineRow& l) { return v < l.addr; });
  if (r != index.rows.begin() && !std::prev(r)->end_sequence) row = &*std::prev(r);

  SourceFrame first;
  if (row != nullptr) {
    if (row->file != nullptr) first.file = row->file;
    first.line = row->line;
    first.discriminator = row->discriminator;
  }
  if (node < 0) {
    if (row == nullptr) {
      return absl::NotFoundError(absl::StrFormat("no function or line info for 0x%x", vaddr));
    }
    frames->push_back(std::move(first));
    return absl::OkStatus();
  }
  const Name& inner = ResolveName(index.nodes[node].die);
  first.function = inner.function;
  first.linkage_name = inner.linkage;
  frames->push_back(std::move(first));
  // Walk out through the inlined calls; each caller sits at the call site
  // recorded on the inlined_subroutine it contains.
  int guard = 0;
  while (index.nodes[node].inlined && index.nodes[node].parent >= 0 && guard++ < kMaxDepth) {
    const Node& callee = index.nodes[node];
    node = callee.parent;
    const Name& name = ResolveName(index.nodes[node].die);
    SourceFrame frame;
    frame.function = name.function;
    frame.linkage_name = name.linkage;
    if (callee.call_file != nullptr) frame.file = callee.call_file;
    frame.line = callee.call_line;
    frames->push_back(std::move(frame));
  }
  if (!inlines && frames->size() > 1) {
    SourceFrame outer = std::move(frames->back());
    frames->clear();
    frames->push_back(std::move(outer));
  }
  return absl::OkStatus();
}

}  // namespace ringprof::symbolizer
