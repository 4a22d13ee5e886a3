// Offline symbolization: (build-id, file offset) -> function, inline chain
// and file:line, with libdw. Kernel addresses resolve against a kallsyms
// snapshot taken at record time.
//
// Shape (after blazesym): callers hand in a batch and get one result per
// input, in order. A failed address carries a reason and the batch goes on.
// Finding the ELF for a build-id is a separate step (FindElf) from
// symbolizing inside one ELF (ElfSymbolizer). Caching is explicit: a
// Symbolizer keeps one ElfSymbolizer per build-id / path it has opened.
//
// Speed: ElfSymbolizer indexes each DWARF compilation unit once, on first
// use (address ranges of its subprograms and inlined subroutines, sorted),
// rather than asking libdw for scopes per address.
#ifndef RINGPROF_SYMBOLIZER_SYMBOLIZER_H_
#define RINGPROF_SYMBOLIZER_SYMBOLIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/scoped_fd.h"
#include "symbolizer/symbol_names.h"

namespace ringprof::symbolizer {

// One source-level frame. In a chain, frames[0] is the innermost inlined
// callee and frames.back() the function that physically holds the address.
struct SourceFrame {
  std::string function;      // demangled when demangling is on, else as in the ELF
  std::string linkage_name;  // mangled name when known, else empty
  std::string file;          // may be empty
  int line = 0;              // 0 when unknown
  // DWARF line-table discriminator of the innermost frame (0 when none);
  // binutils addr2line prints it as " (discriminator N)".
  uint32_t discriminator = 0;
  bool operator==(const SourceFrame&) const = default;
};

struct SymbolizedAddress {
  // Empty when nothing is known. `status` then says why. When the DWARF of
  // the covering unit is unreadable, `status` holds that error and `frames`
  // may still hold the symbol-table name (function only) as a best effort.
  std::vector<SourceFrame> frames;
  absl::Status status;
};

struct SymbolizerOptions {
  bool demangle = true;
  // Off: one frame per address, the function that physically holds it, at
  // the line of its outermost inlined call there (or the line table's line).
  bool inlines = true;
  // Extra roots searched for files: <symfs>/<recorded path>, and
  // <symfs>/.build-id/xx/yyyy(.debug).
  std::vector<std::string> symfs;
  // Global debug directory (Debian: /usr/lib/debug).
  std::string debug_dir = "/usr/lib/debug";
  // Name functions by the alias users know (symbol_names.h): a DWARF
  // linkage name that is an internal alias in the symbol table
  // (`__GI___libc_malloc`) becomes the chosen name of that symbol
  // (`malloc`). Off: DWARF's linkage names as they are, as binutils
  // addr2line prints them.
  bool public_names = true;
};

// Symbolizes addresses inside one ELF file (and its separate debuginfo, if
// found by build-id under the debug directory).
class ElfSymbolizer {
 public:
  static absl::StatusOr<std::unique_ptr<ElfSymbolizer>> Open(const std::string& path,
                                                             const SymbolizerOptions& options);
  virtual ~ElfSymbolizer() = default;

  // Hex build-id of the file ("" when it has none).
  virtual const std::string& build_id_hex() const = 0;
  // ELFCLASS32: code of a 32-bit process (whose syscalls enter the kernel
  // through the `__ia32_` entry points).
  virtual bool is_32bit() const = 0;
  // Converts a file offset to the ELF virtual address (via PT_LOAD headers).
  virtual absl::StatusOr<uint64_t> FileOffsetToVaddr(uint64_t file_offset) const = 0;
  // Symbolizes ELF virtual addresses (as addr2line takes them).
  virtual std::vector<SymbolizedAddress> SymbolizeVaddrs(absl::Span<const uint64_t> vaddrs) = 0;
};

// What a kallsyms text holds: the whole /proc/kallsyms, or (recordings
// marked kallsyms=subset) only the symbols of the recorded kernel frames,
// each with the symbol that follows it, as pieces concatenated in any order
// with lines repeated across pieces.
enum class KallsymsSnapshot { kWhole, kSubset };

// Kernel symbols from a kallsyms text snapshot.
class KernelSymbols {
 public:
  // Keeps text symbols (t, T, w, W). Lines may come in any order and repeat.
  // Of several at one address, the one ChooseAlias (symbol_names.h)
  // prefers: `__x64_sys_vfork` over `__ia32_sys_vfork` and `__do_sys_vfork`
  // for a 64-bit task, the `__ia32_` one for a 32-bit task. Malformed lines
  // give InvalidArgument with the line number and byte offset; a snapshot
  // whose addresses are all 0 (read without privilege) gives
  // FailedPrecondition.
  //
  // A subset names every address it was made for exactly as the whole text
  // would: each stored symbol comes with its aliases and its follower, so its
  // name and end are the same. An address it was not made for may lie in a
  // symbol that was not stored; its lookup failure says so instead of
  // claiming the kernel has no symbol there.
  static absl::StatusOr<KernelSymbols> Parse(std::string_view kallsyms_text,
                                             KallsymsSnapshot snapshot = KallsymsSnapshot::kWhole);
  // frames has one entry ("func" or "func [module]" style name) or is empty.
  // `abi` is that of the task the frame ran for.
  SymbolizedAddress Lookup(uint64_t address, TaskAbi abi = TaskAbi::k64) const;
  size_t size() const { return addrs_.size(); }

 private:
  bool subset_ = false;
  std::vector<uint64_t> addrs_;     // sorted
  std::vector<std::string> names_;  // the names for 64-bit tasks
  // Index in addrs_ -> the name for 32-bit tasks, where it differs.
  absl::flat_hash_map<size_t, std::string> names32_;
  // Exclusive end of each symbol: the next higher address of any kallsyms
  // symbol (text or not), so data addresses do not resolve to the text
  // symbol below them.
  std::vector<uint64_t> ends_;
};

// Finds the ELF for a mapping: the recorded path when its build-id matches
// (or the recording has no build-id), else <debug_dir>/.build-id/xx/yyyy.debug,
// else under each symfs root. Returns the path, or NotFound with what was tried.
absl::StatusOr<std::string> FindElf(std::string_view build_id_raw, const std::string& recorded_path,
                                    const SymbolizerOptions& options);

// Reads the GNU build-id note of an ELF file (raw bytes).
absl::StatusOr<std::string> ReadBuildId(const std::string& path);

// Why a file's addresses were not (fully) symbolized: the file could not
// be found or was refused (missing, not a regular file, not ELF, truncated),
// or its DWARF could not be decoded. Addresses that a sound file simply has
// no symbol for are not problems.
struct FileProblem {
  std::string path;  // as recorded
  absl::Status status;
  uint64_t addresses = 0;  // how many addresses it cost, over all calls
};

// Caches one ElfSymbolizer per (build-id, path).
class Symbolizer {
 public:
  explicit Symbolizer(SymbolizerOptions options) : options_(std::move(options)) {}
  // Symbolizes file offsets inside the file identified by build-id/path.
  // Returns one result per offset, in order.
  std::vector<SymbolizedAddress> SymbolizeFileOffsets(std::string_view build_id_raw,
                                                      const std::string& recorded_path,
                                                      absl::Span<const uint64_t> file_offsets);
  const SymbolizerOptions& options() const { return options_; }
  // Whether a file that SymbolizeFileOffsets opened is a 32-bit ELF;
  // nullopt when it was not asked for or could not be opened.
  std::optional<bool> Is32Bit(std::string_view build_id_raw,
                              const std::string& recorded_path) const;
  // One entry per (path, reason), in the order they were first met.
  const std::vector<FileProblem>& problems() const { return problems_; }
  // A path that opens `bytes`, an ELF image stored in a recording because
  // it has no file (the vDSO): a memfd this Symbolizer keeps open for its
  // lifetime, one per distinct image. Pass it to SymbolizeFileOffsets.
  absl::StatusOr<std::string> ImagePath(std::string_view bytes);

 private:
  SymbolizerOptions options_;
  // Image bytes -> its memfd and "/proc/self/fd/N" path.
  absl::flat_hash_map<std::string, std::pair<ScopedFd, std::string>> images_;
  // Key: build-id raw bytes + '\0' + recorded path. Value may be null when
  // the file could not be found/opened; open_errors_ then holds why.
  absl::flat_hash_map<std::string, std::unique_ptr<ElfSymbolizer>> cache_;
  absl::flat_hash_map<std::string, absl::Status> open_errors_;
  std::vector<FileProblem> problems_;
  absl::flat_hash_map<std::string, size_t> problem_index_;  // path + '\0' + message

  void CountProblem(const std::string& path, const absl::Status& status, uint64_t addresses);
};

}  // namespace ringprof::symbolizer

#endif  // RINGPROF_SYMBOLIZER_SYMBOLIZER_H_
