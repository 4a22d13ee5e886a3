// Unwind tables for the BPF table unwinder: built once per binary (keyed by
// build-id, or by path when a file has none), loaded into BPF maps, and
// shared by every process that maps the binary.
//
//   - A binary's table comes from .sframe or .eh_frame (unwind/), chosen by
//     the --call-graph mode, and is encoded into 8-byte rows
//     (rp_unwind_row) in one contiguous range of the "unwind_rows" array.
//     Its slot in "unwind_bins" says where the range is.
//   - Each process gets a sorted list of its executable mappings that have
//     a table ("proc_maps"): runtime range, load bias, slot + generation.
//     It is rewritten whenever the process-map tracker reports a change.
//   - Memory is capped by the size of "unwind_rows" (--unwind-mem). When a
//     new table does not fit, the least recently used tables are evicted:
//     their slot is cleared (row count 0, so process entries that still
//     point at it miss and fall back to frame pointers) before their rows
//     are reused, and a reused slot gets a new generation.
//   - Each write of a process's list carries a new stamp, which the BPF
//     row cache tags its entries with (see sample_record.h).
//   - Every binary whose table could not be built or loaded is remembered
//     (no retry) and reported once, with why.
//
// The BPF side only ever reads these maps; a sample racing an eviction may
// read rows that are being replaced, which can give it a wrong frame but
// never an out-of-bounds read (every index is checked in the program). It
// checks the slot again after reading a row and does not cache a row whose
// slot was cleared or reused meanwhile, so the wrong frame stays one frame.
#ifndef RINGPROF_COLLECTOR_UNWIND_TABLES_H_
#define RINGPROF_COLLECTOR_UNWIND_TABLES_H_

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "collector/bpf/sample_record.h"
#include "formats/recording.h"
#include "unwind/elf_image.h"
#include "unwind/unwind_table.h"

namespace ringprof::collector {

enum class CallGraphMode { kAuto, kFp, kSframe, kEhFrame, kDwarf };

// "auto", "fp", "sframe", "ehframe", "dwarf".
absl::StatusOr<CallGraphMode> ParseCallGraphMode(absl::string_view name);
const char* CallGraphModeName(CallGraphMode mode);

// Where the rows and process lists go: the BPF maps (BpfSampler), or
// memory in tests.
class UnwindMapWriter {
 public:
  virtual ~UnwindMapWriter() = default;
  virtual uint32_t row_capacity() const = 0;
  virtual absl::Status WriteRows(uint32_t first, absl::Span<const rp_unwind_row> rows) = 0;
  virtual absl::Status WriteBin(uint32_t slot, const rp_unwind_bin& bin) = 0;
  virtual absl::Status WriteProcMaps(uint32_t tgid, const rp_proc_maps& maps) = 0;
  virtual absl::Status DeleteProcMaps(uint32_t tgid) = 0;
};

// A table in the BPF encoding. A CFA offset beyond int16 goes to the far
// list (RP_ROW_FAR_CFA). Rows whose rule does not fit the 8-byte row (FP
// slot not a multiple of 8 or too far, RA not at CFA-8, more than 32768
// distinct far offsets) become RP_ROW_UNSUPPORTED: the walk is finished in
// user space there.
struct EncodedTable {
  uint64_t pc_base = 0;
  uint32_t source = 0;  // RP_UNWOUND_SFRAME or RP_UNWOUND_EHFRAME
  std::vector<rp_unwind_row> rows;
  // pages[i]: the page index entry for pc_base + (i << RP_UNWIND_PAGE_SHIFT):
  // .pc is the index of the row in force there, the rest a copy of its rule,
  // with RP_ROW_WHOLE_PAGE when that row holds for the whole page.
  std::vector<rp_unwind_row> pages;
  // far[i].pc: far CFA offset i (as uint32_t), for rows with RP_ROW_FAR_CFA.
  std::vector<rp_unwind_row> far;
  size_t unencodable_rows = 0;
  // Array entries the table takes in "unwind_rows": rows, the page index,
  // then the far offsets.
  size_t entries() const { return rows.size() + pages.size() + far.size(); }
};
// InvalidArgument when the table spans more than 4 GiB of addresses.
absl::StatusOr<EncodedTable> EncodeTable(const unwind::UnwindTable& table);

struct UnwindTableStats {
  uint64_t tables_loaded = 0;  // binaries whose table went into the maps
  uint64_t sframe_tables = 0;
  uint64_t ehframe_tables = 0;
  uint64_t rows_loaded = 0;
  uint64_t tables_evicted = 0;  // removed to make room (--unwind-mem)
  uint64_t rows_evicted = 0;
  uint64_t binaries_without_table = 0;  // no usable .sframe/.eh_frame: frame pointers there
  uint64_t tables_too_big = 0;          // larger than the whole cap
  uint64_t mappings_dropped = 0;        // a process had more than RP_MAX_PROC_MAPS
  uint64_t peak_rows = 0;               // most rows resident at once
  double build_seconds = 0;             // time spent building and encoding
};

class UnwindTables {
 public:
  using WarnFn = std::function<void(const std::string&)>;
  // `mode` must be kAuto, kSframe or kEhFrame.
  UnwindTables(CallGraphMode mode, UnwindMapWriter* writer, WarnFn warn);
  ~UnwindTables();  // waits for the worker's build in progress, if any
  UnwindTables(const UnwindTables&) = delete;
  UnwindTables& operator=(const UnwindTables&) = delete;

  // Publishes the table-backed mappings of process `pid` (its current
  // address space, from ProcessMapTracker::CurrentMappings), building and
  // loading the tables it needs.
  absl::Status UpdateProcess(uint32_t pid, const std::vector<const formats::Mapping*>& mappings);
  absl::Status RemoveProcess(uint32_t pid);
  // Where to read the vDSO's ELF image (VdsoImage): mappings named [vdso]
  // get their table from it. Without it they have none.
  void SetVdsoPath(std::string path) { vdso_path_ = std::move(path); }
  // Builds and loads the table of the ELF file at `path` ahead of need
  // (e.g. a command's executable and the C library before it starts).
  void Preload(const std::string& path);
  // Lazy: UpdateProcess builds nothing; it publishes the tables that exist
  // and remembers which binaries the process waits for. Want() asks for a
  // binary's table (a sample's walk needed it: the BPF program deferred
  // it to user space), and BuildWanted() builds what was asked for and
  // says which processes to publish again. Binaries no sample ever runs in
  // (most of what -a finds mapped) then cost nothing.
  void SetLazy(bool lazy) { lazy_ = lazy; }
  void Want(const formats::Mapping& m);
  // Builds the wanted tables; returns the processes that map them (and
  // were not removed since), to UpdateProcess again.
  std::vector<uint32_t> BuildWanted();
  // Called after each table is built: building a big binary's table takes
  // long enough (cc1plus: ~170 ms; -a: hundreds of binaries) for the BPF
  // ring to fill unless the caller drains it in between.
  void SetAfterBuild(std::function<void()> fn) { after_build_ = std::move(fn); }
  // Lazy builds on a worker thread (the recorder's): BuildWanted() hands
  // the wanted binaries to it and loads the tables it has finished, so the
  // caller goes on draining its rings while a big table builds. ready_fd()
  // (an eventfd) becomes readable when a build finishes. Loading into the
  // maps stays on the caller's thread. Without it, BuildWanted() builds
  // in place.
  absl::Status StartWorker();
  int ready_fd() const;
  // Wanted binaries handed to the worker and not loaded yet.
  size_t building() const { return building_.size(); }

  const UnwindTableStats& stats() const { return stats_; }
  uint64_t resident_rows() const { return resident_rows_; }

 private:
  struct Binary {
    bool has_table = false;
    uint32_t slot = 0;
    uint32_t generation = 0;
    uint32_t first_row = 0;
    uint32_t row_count = 0;  // array entries: rows + page index
    uint64_t pc_base = 0;
    uint32_t source = 0;
    std::vector<unwind::LoadSegment> segments;
    std::list<std::string>::iterator lru;  // valid while resident
    bool resident = false;
  };
  // A table built and encoded, ready to load; made without touching any
  // member, so that the worker thread can make it.
  struct Prepared {
    std::string key;
    absl::Status status;       // why there is no table (then nothing else is set)
    bool always_warn = false;  // the file could not be read at all
    std::vector<unwind::LoadSegment> segments;
    EncodedTable table;
    std::vector<std::string> warnings;  // for warn_, from the caller's thread
    double seconds = 0;
  };
  class Worker;
  static Prepared Prepare(CallGraphMode mode, const std::string& path);
  // Builds `path`'s table as `mode` says (.sframe, then .eh_frame in auto).
  static absl::StatusOr<unwind::UnwindTable> BuildTable(CallGraphMode mode, const std::string& path,
                                                        std::vector<std::string>* warnings);
  // Takes a prepared table into binary `b` (its entry) and loads it.
  void Install(const formats::Mapping& m, const std::string& key, Binary& b, Prepared p);
  static std::string KeyOf(const formats::Mapping& m);
  // Writes the process's entry; with build=false only binaries seen
  // before are used, and *missing says whether others were skipped.
  absl::Status Publish(uint32_t pid, const std::vector<const formats::Mapping*>& mappings,
                       bool build, bool* missing);
  // The mapping as tables see it: [vdso] becomes the captured image.
  const formats::Mapping* TableMapping(const formats::Mapping* m, formats::Mapping* vdso) const;
  // The binary's entry, built and loaded if it is not resident.
  Binary& Acquire(const formats::Mapping& m, const std::string& key);
  absl::Status Load(const std::string& key, Binary& b, const EncodedTable& t);
  // A free range of n rows, evicting least recently used tables until one
  // exists. False when n exceeds the capacity.
  bool Allocate(uint32_t n, uint32_t* first);
  void Free(uint32_t first, uint32_t n);
  void Evict(const std::string& key);

  CallGraphMode mode_;
  bool lazy_ = false;
  // Lazy mode: binaries asked for, by key; processes waiting for each key.
  absl::flat_hash_map<std::string, formats::Mapping> wanted_;
  absl::flat_hash_map<std::string, std::vector<uint32_t>> waiting_;
  std::string vdso_path_;
  UnwindMapWriter* writer_;
  WarnFn warn_;
  std::function<void()> after_build_;
  std::unique_ptr<Worker> worker_;
  absl::flat_hash_map<std::string, formats::Mapping> building_;  // handed to worker_
  absl::node_hash_map<std::string, Binary> binaries_;            // stable references
  std::list<std::string> lru_;                       // resident keys, most recently used first
  std::vector<std::pair<uint32_t, uint32_t>> free_;  // [first, count), sorted, coalesced
  std::vector<uint32_t> free_slots_;
  uint32_t next_slot_ = 0;
  uint32_t last_stamp_ = 0;  // rp_proc_maps.stamp of the latest write
  // What each process's list held when last written (entries only).
  absl::flat_hash_map<uint32_t, std::vector<rp_map_entry>> written_;
  std::vector<uint32_t> slot_generation_;
  uint64_t resident_rows_ = 0;
  UnwindTableStats stats_;
};

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_UNWIND_TABLES_H_
