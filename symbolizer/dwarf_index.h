// Address index over the DWARF of one ELF file, built lazily per
// compilation unit.
//
// Open reads only the unit headers and each unit DIE's address ranges (a
// sorted interval map: address -> unit). The first address that falls into
// a unit walks that unit's DIE tree once and records every
// DW_TAG_subprogram / DW_TAG_inlined_subroutine range, flattened into
// disjoint segments that each name the innermost DIE covering them, plus
// the unit's line table sorted by address. Every later address in the unit
// is two binary searches and a walk up the parent links. Function names
// are resolved (and demangled) on first use and cached by DIE offset.
//
// This is the opposite of asking libdw for scopes per address
// (dwarf_getscopes), which rescans the unit for every query.
#ifndef RINGPROF_SYMBOLIZER_DWARF_INDEX_H_
#define RINGPROF_SYMBOLIZER_DWARF_INDEX_H_

#include <elfutils/libdw.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "symbolizer/symbolizer.h"

namespace ringprof::symbolizer {

class DwarfIndex {
 public:
  // `dwarf` must outlive the index.
  static absl::StatusOr<std::unique_ptr<DwarfIndex>> Create(Dwarf* dwarf, bool demangle);

  // Fills `frames` (innermost first) for `vaddr`. With `inlines` off, one
  // frame: the function that physically holds the address, at the line of
  // the outermost inlined call (or the line table's line when nothing is
  // inlined there). Returns NotFound when no unit covers the address, and
  // DataLoss when the covering unit (its DIEs or its line table) cannot be
  // decoded, or when none covers it and some unit headers were unreadable. A
  // frame's function is empty when the unit has line info but no
  // subprogram covers the address (the caller may use the symbol table).
  absl::Status Symbolize(uint64_t vaddr, bool inlines, std::vector<SourceFrame>* frames);

  size_t unit_count() const { return units_.size(); }
  size_t indexed_unit_count() const;

 private:
  struct Node {
    Dwarf_Off die;   // the concrete DIE; names come via its origins
    int32_t parent;  // enclosing node, -1 for a subprogram
    bool inlined;    // DW_TAG_inlined_subroutine
    uint32_t call_line;
    const char* call_file;  // owned by libdw, may be null
  };
  struct Segment {
    uint64_t lo, hi;
    int32_t node;
  };
  struct LineRow {
    uint64_t addr;
    const char* file;  // owned by libdw, may be null
    uint32_t line;
    uint32_t discriminator;
    bool end_sequence;
  };
  struct UnitIndex {
    std::vector<Node> nodes;
    std::vector<Segment> segments;  // sorted, disjoint
    std::vector<LineRow> rows;      // sorted by address
  };
  struct Unit {
    Dwarf_Off die_offset;
    bool has_ranges = false;
    bool indexed = false;
    absl::Status status;  // why indexing failed, when it did
    std::unique_ptr<UnitIndex> index;
  };
  struct UnitRange {
    uint64_t lo, hi;
    uint32_t unit;
  };
  struct Name {
    std::string function;
    std::string linkage;
  };

  DwarfIndex(Dwarf* dwarf, bool demangle) : dwarf_(dwarf), demangle_(demangle) {}
  absl::Status IndexUnit(Unit& unit);
  // Indexes units whose DIE carries no ranges and adds their subprogram
  // ranges to the unit map (done once, on the first address no unit claims).
  void IndexRangelessUnits();
  int FindUnit(uint64_t vaddr) const;
  const Name& ResolveName(Dwarf_Off die);

  Dwarf* dwarf_;
  bool demangle_;
  bool rangeless_done_ = false;
  std::vector<Unit> units_;
  std::vector<UnitRange> ranges_;  // sorted by lo
  // Why the unit list stops early (a unit header libdw cannot read), or OK.
  absl::Status units_status_;
  absl::flat_hash_map<Dwarf_Off, Name> names_;
};

// Demangles an Itanium C++ name; returns it unchanged when it is not one.
std::string Demangle(const std::string& name);

}  // namespace ringprof::symbolizer

#endif  // RINGPROF_SYMBOLIZER_DWARF_INDEX_H_
