// The kernel side of a recording: which kernel it is (build-id, module
// list) and the kernel symbols its recorded frames use.
//
// A recording used to embed the whole /proc/kallsyms (5.4 MB of text, 121k
// lines on our VM). Now the recorder reads it once, into a compact sorted
// index (KallsymsIndex), and stores only the lines of the symbols that
// recorded kernel IPs fall in, each with the line of the symbol after it (so
// that a reader bounds the symbol's end exactly as the whole text would),
// in KALLSYMS chunks written at each flush before the samples that use
// them. The file says so with META kallsyms=subset (docs/FORMAT.md).
//
// The kernel's files sit behind KernelFiles so that tests feed text.
#ifndef RINGPROF_COLLECTOR_KERNEL_SYMBOLS_H_
#define RINGPROF_COLLECTOR_KERNEL_SYMBOLS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "formats/recording.h"

namespace ringprof::collector {

// The kernel's own files, as the recorder reads them.
class KernelFiles {
 public:
  virtual ~KernelFiles() = default;
  // Streams /proc/kallsyms to `sink` in blocks; a line may be cut between
  // two blocks.
  virtual absl::Status ReadKallsyms(const std::function<void(std::string_view)>& sink) = 0;
  // /sys/kernel/notes: the running kernel's ELF notes (NT_GNU_BUILD_ID).
  virtual absl::StatusOr<std::string> ReadNotes() = 0;
  // /proc/modules. NotFound: there is no such file (a kernel without
  // loadable module support).
  virtual absl::StatusOr<std::string> ReadModules() = 0;
  // /sys/module/NAME/notes/.note.gnu.build-id: one module's build-id note.
  virtual absl::StatusOr<std::string> ReadModuleNotes(const std::string& name) = 0;
};

// The files of the running kernel.
std::unique_ptr<KernelFiles> LiveKernelFiles();

// The NT_GNU_BUILD_ID descriptor (raw bytes) in a block of ELF notes as the
// kernel exports them (4-byte aligned, native byte order). NotFound when
// there is none; InvalidArgument when a note runs past the block.
absl::StatusOr<std::string> BuildIdFromNotes(std::string_view notes);

// /proc/modules lines ("name size refs deps state 0xaddress [taint]").
// Lines that do not parse are skipped and counted in *bad_lines.
std::vector<formats::KernelModule> ParseModules(std::string_view text, size_t* bad_lines);

// The kernel's build-id and module list (with each module's build-id where
// /sys/module has it). What cannot be read is left empty (modules_known
// false) with a warning; a missing /proc/modules is an empty list.
formats::KernelInfo ReadKernelInfo(KernelFiles& files,
                                   const std::function<void(const std::string&)>& warn);

// Kernel IPs that are frames: not 0 and not a PERF_CONTEXT_* marker.
inline bool IsKernelFrameIp(uint64_t ip) { return ip != 0 && ip < static_cast<uint64_t>(-4095); }

// /proc/kallsyms, read once into a compact index: one entry (address, 12
// bytes) per distinct address, and the rest of each kept line (type, name,
// module) in an arena; about 5 MB for 121k symbols, against 5.4 MB of text.
class KallsymsIndex {
 public:
  using Warn = std::function<void(const std::string&)>;
  KallsymsIndex(std::unique_ptr<KernelFiles> files, Warn warn);

  // Reads /proc/kallsyms now. Otherwise the first TakeNewSymbolsFor that
  // sees a kernel IP does, so a recording without kernel frames never reads
  // it. A failure (unreadable, every address 0, no symbol) warns once and
  // leaves the index empty: no symbols are stored and recording goes on.
  absl::Status Load();

  // The kallsyms lines (newline-terminated, /proc/kallsyms text format) of
  // the text symbols that hold `ips` and `ips - 1` (the reader looks return
  // addresses up at ip - 1), each followed by the symbol after it, that no
  // earlier call returned; "" when there are none. An IP past the end of
  // every text symbol gets the text symbol below it and that one's follower,
  // so a reader finds it in no symbol, as it would with the whole text.
  // Markers (PERF_CONTEXT_*) and 0 are skipped.
  std::string TakeNewSymbolsFor(absl::Span<const uint64_t> ips);
  // The same for every kernel IP of `samples`.
  std::string TakeNewSymbolsFor(absl::Span<const formats::Sample> samples);

  KernelFiles& files() { return *files_; }
  bool loaded() const { return state_ == State::kLoaded; }
  size_t symbols() const { return entries_.size(); }  // distinct addresses
  size_t lines_stored() const { return lines_stored_; }
  size_t lines_skipped() const { return lines_skipped_; }  // malformed lines of /proc/kallsyms
  size_t memory_bytes() const;

 private:
  // Entries are 12 bytes: 121k of them take 1.4 MB.
  struct __attribute__((packed, aligned(4))) Entry {
    uint64_t addr;
    uint32_t off;  // of the line's rest ("t name\t[mod]\n") in the arena
  };
  static constexpr size_t kBlockBytes = 256 << 10;
  static constexpr size_t kCacheSize = 4096;

  enum class State { kUnloaded, kLoaded, kFailed };
  absl::Status LoadOnce();
  void ParseLine(std::string_view line);
  const char* At(uint32_t off) const;  // arena position
  // The rest of an entry's line, without its newline.
  std::string_view Rest(size_t i) const;
  bool IsText(size_t i) const;
  void Cover(uint64_t ip, std::string& out);
  void Emit(size_t i, std::string& out);

  std::unique_ptr<KernelFiles> files_;
  Warn warn_;
  State state_ = State::kUnloaded;
  // The arena: fixed blocks, so it grows without copying; lines never
  // straddle two blocks.
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t block_used_ = kBlockBytes;  // bytes used in blocks_.back()
  std::vector<Entry> entries_;       // sorted by address, one per address
  std::vector<bool> emitted_;        // per entry: returned by an earlier call
  // IPs already covered (direct-mapped; 0 is empty), so that hot IPs skip
  // the binary search.
  std::unique_ptr<std::array<uint64_t, kCacheSize>> seen_;
  std::string carry_;  // a line cut between two blocks of the read
  size_t lines_stored_ = 0;
  size_t lines_skipped_ = 0;
  size_t nonzero_ = 0;
};

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_KERNEL_SYMBOLS_H_
