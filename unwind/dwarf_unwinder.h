// Reference DWARF unwinder for `--call-graph dwarf` samples.
//
// The collector asks the kernel for PERF_SAMPLE_REGS_USER (kDwarfRegsMask)
// and PERF_SAMPLE_STACK_USER; DwarfUnwinder turns one sample's registers and
// stack copy into user PCs with libunwind's remote API, the way `perf report`
// does for `perf record --call-graph dwarf`. It is the ground truth the
// in-kernel SFrame/.eh_frame unwinder is checked against, and the fallback
// mode for binaries the kernel unwinder cannot handle.
//
// Memory model of one unwind: libunwind reads words through our accessors.
// Addresses inside [stack_addr, stack_addr + stack.size()) come from the
// sample's stack copy; addresses inside a file mapping (code, .eh_frame,
// .eh_frame_hdr) come from that ELF file on disk, mmapped and cached. Every
// other read fails, so nothing is ever guessed: a frame whose code has no
// .eh_frame_hdr table ends the stack with DwarfStop::kNoInfo, even though
// libunwind on x86-64 would otherwise fall back to a frame-pointer guess.
//
// Cost: about 6-7 us per frame with Debian's libunwind 1.6.2, most of it the
// four rt_sigprocmask calls its allocator makes per frame (it blocks signals
// around its locks); libunwind's own caches are off, see the constructor.
//
// Files are mmapped read-only; as with any mmap, a file truncated in place
// while mapped would fault on access (package managers replace files by
// rename, which keeps the old inode alive and is safe).
#ifndef RINGPROF_UNWIND_DWARF_UNWINDER_H_
#define RINGPROF_UNWIND_DWARF_UNWINDER_H_

#include <asm/perf_regs.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

struct unw_addr_space;  // libunwind's opaque address space.

namespace ringprof::unwind {

// perf_event_attr.sample_regs_user for x86-64: every register the kernel
// samples in user mode (AX..SS and R8..R15). DS/ES/FS/GS are rejected by the
// kernel for 64-bit tasks, so they are left out.
constexpr uint64_t kDwarfRegsMask =
    ((uint64_t{1} << (PERF_REG_X86_SS + 1)) - 1) |
    (((uint64_t{1} << (PERF_REG_X86_R15 + 1)) - 1) & ~((uint64_t{1} << PERF_REG_X86_R8) - 1));

// Default PERF_SAMPLE_STACK_USER size, as `perf record --call-graph dwarf`.
constexpr uint32_t kDwarfStackBytes = 16384;

// User registers indexed by PERF_REG_X86_*; bit i of mask says regs[i] is
// valid.
struct UserRegs {
  uint64_t regs[PERF_REG_X86_64_MAX] = {};
  uint64_t mask = 0;
};

// Unpacks a sample's regs array: the kernel writes one u64 per set bit of
// `mask`, in increasing bit order. Fails if the counts disagree or the mask
// has bits beyond PERF_REG_X86_64_MAX.
absl::StatusOr<UserRegs> UserRegsFromSample(absl::Span<const uint64_t> values, uint64_t mask);

// One file-backed mapping of the sampled process.
struct FileMapping {
  std::string path;
  uint64_t start = 0;
  uint64_t end = 0;    // exclusive
  uint64_t pgoff = 0;  // file offset of `start`
};

// Returns the executable file mapping covering addr, or nullptr. Called for
// every frame; it must be cheap (a sorted-vector or interval-map lookup).
using MappingLookup = absl::FunctionRef<const FileMapping*(uint64_t addr)>;

enum class DwarfStop {
  kEnd,        // the unwind info marks the outermost frame (e.g. _start)
  kNoInfo,     // the last PC is unmapped or its file has no usable table
  kReadFault,  // a read left the stack copy (truncated stack) or a file
  kDepth,      // max_frames reached
  kError,      // libunwind rejected the unwind info or the register state
};

struct DwarfStack {
  // Leaf first. pcs[0] is the sampled IP; later entries are return
  // addresses exactly as libunwind reports them (RA, not RA-1): symbolizers
  // must look up pc-1 for them.
  std::vector<uint64_t> pcs;
  DwarfStop stop = DwarfStop::kEnd;
};

// Not thread-safe: use one per thread. libunwind's caching is off
// (UNW_CACHE_NONE, see the constructor), so instances never share state.
class DwarfUnwinder {
 public:
  struct Stats {
    uint64_t unwinds = 0;
    uint64_t frames = 0;
    uint64_t files_opened = 0;         // ELF files mmapped successfully
    uint64_t files_failed = 0;         // missing, unreadable or not ELF64
    uint64_t files_without_table = 0;  // no usable PT_GNU_EH_FRAME table
    uint64_t cache_evictions = 0;
  };

  // Aborts only if libunwind cannot allocate an address space.
  DwarfUnwinder();
  ~DwarfUnwinder();
  DwarfUnwinder(const DwarfUnwinder&) = delete;
  DwarfUnwinder& operator=(const DwarfUnwinder&) = delete;

  // Unwinds one sample. `stack` is the copied user stack and stack_addr the
  // address of stack[0] (the sampled SP). Bad input ends the stack with a
  // DwarfStop reason; the only error is a register set without IP or SP.
  absl::StatusOr<DwarfStack> Unwind(const UserRegs& regs, absl::Span<const uint8_t> stack,
                                    uint64_t stack_addr, MappingLookup lookup,
                                    int max_frames = 127);

  // Drops every cached file (e.g. when a path was replaced on disk: entries,
  // including failed opens, are keyed by path and kept until evicted).
  void ClearCache();

  const Stats& stats() const { return stats_; }

  // Opaque implementation types, named here so that the .cc's libunwind
  // callbacks can reach them.
  struct ElfFile;
  struct Context;

 private:
  static constexpr size_t kMaxFiles = 64;
  // The cached file at path, opened on first use; null if it cannot be read.
  std::shared_ptr<const ElfFile> OpenFile(const std::string& path);

  struct CacheEntry {
    std::shared_ptr<const ElfFile> file;  // null after a failed open
    std::list<std::string>::iterator lru;
  };

  unw_addr_space* as_;
  absl::flat_hash_map<std::string, CacheEntry> files_;
  std::list<std::string> lru_;  // most recently used first
  Stats stats_;
};

}  // namespace ringprof::unwind

#endif  // RINGPROF_UNWIND_DWARF_UNWINDER_H_
