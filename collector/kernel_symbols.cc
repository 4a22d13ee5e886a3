#include "collector/kernel_symbols.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/scoped_fd.h"
#include "base/status_macros.h"

namespace ringprof::collector {
namespace {

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return LastErrnoStatus(absl::StrCat("opening ", path));
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return LastErrnoStatus(absl::StrCat("reading ", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (16u << 20)) return absl::OutOfRangeError(absl::StrCat(path, " is too large"));
  }
  return out;
}

class LiveFiles : public KernelFiles {
 public:
  absl::Status ReadKallsyms(const std::function<void(std::string_view)>& sink) override {
    ScopedFd fd(open("/proc/kallsyms", O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return LastErrnoStatus("opening /proc/kallsyms");
    // seq_file hands out up to a buffer per read; 128 KiB keeps the calls
    // few and the buffer small.
    std::unique_ptr<char[]> buf(new char[128 << 10]);
    while (true) {
      ssize_t n = read(fd.get(), buf.get(), 128 << 10);
      if (n < 0) {
        if (errno == EINTR) continue;
        return LastErrnoStatus("reading /proc/kallsyms");
      }
      if (n == 0) return absl::OkStatus();
      sink(std::string_view(buf.get(), static_cast<size_t>(n)));
    }
  }
  absl::StatusOr<std::string> ReadNotes() override { return ReadSmallFile("/sys/kernel/notes"); }
  absl::StatusOr<std::string> ReadModules() override { return ReadSmallFile("/proc/modules"); }
  absl::StatusOr<std::string> ReadModuleNotes(const std::string& name) override {
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
      return absl::InvalidArgumentError(absl::StrCat("bad module name '", name, "'"));
    }
    return ReadSmallFile(absl::StrCat("/sys/module/", name, "/notes/.note.gnu.build-id"));
  }
};

uint32_t U32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // native order: the kernel exports its own notes
  return v;
}

bool IsTextType(char type) { return type == 't' || type == 'T' || type == 'w' || type == 'W'; }

// The order among the lines of one address: text symbols first, global
// before local (the reader then chooses the name among the text ones).
int Rank(char type) {
  if (type == 'T' || type == 'W') return 0;
  if (IsTextType(type)) return 1;
  return 2;
}

bool IsSpace(char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); }

// Splits off the next whitespace-delimited field of `rest`, as the reader
// does.
std::string_view NextField(std::string_view& rest) {
  size_t start = 0;
  while (start < rest.size() && IsSpace(rest[start])) ++start;
  size_t end = start;
  while (end < rest.size() && !IsSpace(rest[end])) ++end;
  std::string_view field = rest.substr(start, end - start);
  rest.remove_prefix(end);
  return field;
}

}  // namespace

std::unique_ptr<KernelFiles> LiveKernelFiles() { return std::make_unique<LiveFiles>(); }

absl::StatusOr<std::string> BuildIdFromNotes(std::string_view notes) {
  constexpr uint32_t kNtGnuBuildId = 3;
  auto align4 = [](uint64_t n) { return (n + 3) & ~uint64_t{3}; };
  size_t pos = 0;
  while (notes.size() - pos >= 12) {
    const uint64_t namesz = U32(notes.data() + pos);
    const uint64_t descsz = U32(notes.data() + pos + 4);
    const uint32_t type = U32(notes.data() + pos + 8);
    const uint64_t name_at = pos + 12;
    const uint64_t desc_at = name_at + align4(namesz);
    const uint64_t next = desc_at + align4(descsz);
    if (desc_at + descsz > notes.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ELF note at offset ", pos, " runs past the end (", notes.size(), " bytes)"));
    }
    if (type == kNtGnuBuildId && namesz == 4 &&
        notes.substr(name_at, 4) == std::string_view("GNU\0", 4) && descsz > 0) {
      return std::string(notes.substr(desc_at, descsz));
    }
    if (next >= notes.size()) break;
    pos = static_cast<size_t>(next);
  }
  return absl::NotFoundError("no NT_GNU_BUILD_ID note");
}

std::vector<formats::KernelModule> ParseModules(std::string_view text, size_t* bad_lines) {
  std::vector<formats::KernelModule> out;
  size_t bad = 0;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    std::string_view rest = line;
    std::string_view f[6];
    for (std::string_view& field : f) field = NextField(rest);
    if (f[0].empty()) continue;  // blank line
    formats::KernelModule m;
    m.name = std::string(f[0]);
    std::string_view addr = f[5];
    if (addr.size() > 2 && addr[0] == '0' && (addr[1] == 'x' || addr[1] == 'X')) {
      addr.remove_prefix(2);
    }
    if (!absl::SimpleAtoi(Sv(f[1]), &m.size) || addr.empty() || addr.size() > 16 ||
        !absl::SimpleHexAtoi(Sv(addr), &m.address) || addr[0] == '-' || addr[0] == '+') {
      ++bad;
      continue;
    }
    out.push_back(std::move(m));
  }
  if (bad_lines != nullptr) *bad_lines = bad;
  return out;
}

formats::KernelInfo ReadKernelInfo(KernelFiles& files,
                                   const std::function<void(const std::string&)>& warn) {
  formats::KernelInfo k;
  absl::StatusOr<std::string> notes = files.ReadNotes();
  absl::StatusOr<std::string> id =
      notes.ok() ? BuildIdFromNotes(*notes) : absl::StatusOr<std::string>(notes.status());
  if (id.ok()) {
    k.build_id = std::move(*id);
  } else {
    warn(absl::StrCat("the kernel's build-id (/sys/kernel/notes): ", id.status().message(),
                      "; the recording will not say which kernel build it was"));
  }
  absl::StatusOr<std::string> modules = files.ReadModules();
  if (modules.ok()) {
    size_t bad = 0;
    k.modules = ParseModules(*modules, &bad);
    k.modules_known = bad == 0;
    if (bad != 0) warn(absl::StrCat(bad, " lines of /proc/modules did not parse; skipped"));
    for (formats::KernelModule& m : k.modules) {
      absl::StatusOr<std::string> mnotes = files.ReadModuleNotes(m.name);
      if (!mnotes.ok()) continue;  // a module without notes: no build-id
      absl::StatusOr<std::string> mid = BuildIdFromNotes(*mnotes);
      if (mid.ok()) m.build_id = std::move(*mid);
    }
  } else if (absl::IsNotFound(modules.status())) {
    k.modules_known = true;  // no /proc/modules: no loadable modules
  } else {
    warn(absl::StrCat(modules.status().message(), "; the module list is not stored"));
  }
  return k;
}

KallsymsIndex::KallsymsIndex(std::unique_ptr<KernelFiles> files, Warn warn)
    : files_(std::move(files)), warn_(std::move(warn)) {}

size_t KallsymsIndex::memory_bytes() const {
  return blocks_.size() * kBlockBytes + entries_.capacity() * sizeof(Entry) +
         emitted_.capacity() / 8 + (seen_ ? sizeof(*seen_) : 0);
}

absl::Status KallsymsIndex::Load() {
  if (state_ == State::kUnloaded) {
    absl::Status s = LoadOnce();
    if (!s.ok()) {
      state_ = State::kFailed;
      blocks_.clear();
      blocks_.shrink_to_fit();
      entries_.clear();
      entries_.shrink_to_fit();
      warn_(absl::StrCat(s.message(), "; kernel frames will not be symbolized"));
      return s;
    }
    state_ = State::kLoaded;
  }
  return state_ == State::kLoaded ? absl::OkStatus()
                                  : absl::FailedPreconditionError("kallsyms could not be read");
}

void KallsymsIndex::ParseLine(std::string_view line) {
  // The reader's rules (symbolizer/kallsyms.cc): a line it would refuse
  // would make it refuse every stored piece, so such lines are skipped.
  std::string_view rest = line;
  std::string_view addr_field = NextField(rest);
  if (addr_field.empty()) return;  // blank line
  const size_t type_at = static_cast<size_t>(rest.data() - line.data());
  std::string_view type_field = NextField(rest);
  std::string_view name = NextField(rest);
  std::string_view module = NextField(rest);
  uint64_t addr = 0;
  const bool ok =
      type_field.size() == 1 && !name.empty() && addr_field.size() <= 16 && addr_field[0] != '-' &&
      addr_field[0] != '+' && absl::SimpleHexAtoi(Sv(addr_field), &addr) &&
      (module.empty() || (module.size() >= 3 && module.front() == '[' && module.back() == ']')) &&
      NextField(rest).empty();
  if (!ok) {
    ++lines_skipped_;
    return;
  }
  // Keep from the type to the end of the last field: "t name\t[mod]".
  const std::string_view last = module.empty() ? name : module;
  std::string_view kept = line.substr(type_at);
  while (!kept.empty() && IsSpace(kept.front())) kept.remove_prefix(1);
  kept = kept.substr(0, static_cast<size_t>(last.data() + last.size() - kept.data()));
  if (kept.size() + 1 > kBlockBytes) {
    ++lines_skipped_;
    return;
  }
  if (block_used_ + kept.size() + 1 > kBlockBytes) {
    blocks_.emplace_back(new char[kBlockBytes]);
    block_used_ = 0;
  }
  const uint64_t off = (blocks_.size() - 1) * kBlockBytes + block_used_;
  if (off > UINT32_MAX - kBlockBytes) {
    ++lines_skipped_;  // 4 GiB of symbol text: not a real kernel
    return;
  }
  char* p = blocks_.back().get() + block_used_;
  std::memcpy(p, kept.data(), kept.size());
  p[kept.size()] = '\n';
  block_used_ += kept.size() + 1;
  entries_.push_back(Entry{addr, static_cast<uint32_t>(off)});
  if (addr != 0) ++nonzero_;
}

absl::Status KallsymsIndex::LoadOnce() {
  absl::Status read = files_->ReadKallsyms([this](std::string_view block) {
    if (!carry_.empty()) {
      size_t eol = block.find('\n');
      // A line longer than a block is skipped (kernel names have at most
      // 512 bytes), without holding more of it.
      if (eol == std::string_view::npos) {
        if (carry_.size() <= kBlockBytes) carry_.append(block);
        return;
      }
      carry_.append(block.substr(0, eol));
      if (carry_.size() <= kBlockBytes) {
        ParseLine(carry_);
      } else {
        ++lines_skipped_;
      }
      carry_.clear();
      block.remove_prefix(eol + 1);
    }
    while (!block.empty()) {
      size_t eol = block.find('\n');
      if (eol == std::string_view::npos) {
        carry_.assign(block);
        return;
      }
      ParseLine(block.substr(0, eol));
      block.remove_prefix(eol + 1);
    }
  });
  if (!carry_.empty()) {
    if (carry_.size() <= kBlockBytes) {
      ParseLine(carry_);
    } else {
      ++lines_skipped_;
    }
  }
  carry_.clear();
  carry_.shrink_to_fit();
  RETURN_IF_ERROR(read);
  if (entries_.empty()) return absl::NotFoundError("/proc/kallsyms holds no symbols");
  if (nonzero_ == 0) {
    return absl::PermissionDeniedError(
        "every /proc/kallsyms address is 0: it was read without privilege "
        "(kernel.kptr_restrict); record as root or with CAP_SYSLOG");
  }
  if (lines_skipped_ != 0) {
    warn_(absl::StrCat(lines_skipped_, " lines of /proc/kallsyms did not parse; skipped"));
  }
  // By address, text symbols first within one. Every alias at an address
  // is kept: the reader chooses among them per task ABI (__x64_ against
  // __ia32_, symbolizer/symbol_names.h), so a subset must hold them all.
  std::sort(entries_.begin(), entries_.end(), [this](const Entry& a, const Entry& b) {
    if (a.addr != b.addr) return a.addr < b.addr;
    const int ra = Rank(*At(a.off));
    const int rb = Rank(*At(b.off));
    if (ra != rb) return ra < rb;
    return a.off < b.off;
  });
  entries_.shrink_to_fit();
  emitted_.assign(entries_.size(), false);
  seen_ = std::make_unique<std::array<uint64_t, kCacheSize>>();
  seen_->fill(0);
  return absl::OkStatus();
}

const char* KallsymsIndex::At(uint32_t off) const {
  return blocks_[off / kBlockBytes].get() + off % kBlockBytes;
}

std::string_view KallsymsIndex::Rest(size_t i) const {
  const uint32_t off = entries_[i].off;
  const char* p = At(off);
  // Names may hold any byte but a newline (a NUL included).
  const void* nl = std::memchr(p, '\n', kBlockBytes - off % kBlockBytes);
  return std::string_view(p, static_cast<size_t>(static_cast<const char*>(nl) - p));
}

bool KallsymsIndex::IsText(size_t i) const { return IsTextType(*At(entries_[i].off)); }

void KallsymsIndex::Emit(size_t i, std::string& out) {
  if (emitted_[i]) return;
  emitted_[i] = true;
  ++lines_stored_;
  absl::StrAppendFormat(&out, "%016x ", entries_[i].addr);
  const std::string_view rest = Rest(i);
  out.append(rest.data(), rest.size());
  out.push_back('\n');
}

void KallsymsIndex::Cover(uint64_t ip, std::string& out) {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), ip,
                             [](uint64_t v, const Entry& e) { return v < e.addr; });
  if (it == entries_.begin()) return;  // below every symbol: the reader says so without help
  size_t i = static_cast<size_t>(it - entries_.begin()) - 1;
  // The text symbol at or below: what the reader looks the IP up in.
  while (!IsText(i) || entries_[i].addr == 0) {
    if (i == 0) return;
    --i;
  }
  // Every text alias at that address, then the next symbol, which bounds
  // its end.
  const uint64_t addr = entries_[i].addr;
  size_t first = i;
  while (first > 0 && entries_[first - 1].addr == addr) --first;
  size_t end = i + 1;
  while (end < entries_.size() && entries_[end].addr == addr) ++end;
  for (size_t k = first; k < end; ++k) {
    if (IsText(k)) Emit(k, out);
  }
  if (end < entries_.size()) Emit(end, out);
}

std::string KallsymsIndex::TakeNewSymbolsFor(absl::Span<const uint64_t> ips) {
  std::string out;
  if (state_ == State::kUnloaded) {
    if (std::none_of(ips.begin(), ips.end(), IsKernelFrameIp)) return out;
    (void)Load();
  }
  if (state_ != State::kLoaded) return out;
  for (uint64_t ip : ips) {
    if (!IsKernelFrameIp(ip)) continue;
    uint64_t& slot = (*seen_)[(ip * 0x9e3779b97f4a7c15ull) >> 52];
    static_assert(kCacheSize == 4096);
    if (slot == ip) continue;
    slot = ip;
    Cover(ip, out);
    Cover(ip - 1, out);
  }
  return out;
}

std::string KallsymsIndex::TakeNewSymbolsFor(absl::Span<const formats::Sample> samples) {
  std::string out;
  for (const formats::Sample& s : samples) {
    if (s.kernel_ips.empty()) continue;
    out += TakeNewSymbolsFor(s.kernel_ips);
  }
  return out;
}

}  // namespace ringprof::collector
