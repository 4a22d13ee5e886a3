#include "unwind/dwarf_unwinder.h"

#include <elf.h>
#include <fcntl.h>
#include <libunwind.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/scoped_fd.h"
#include "base/status_macros.h"

// libunwind exports this but no installed header declares it (perf declares
// it the same way). UNW_OBJ gives the remote name, _Ux86_64_... on x86-64.
extern "C" int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip,
                                                  unw_dyn_info_t* di, unw_proc_info_t* pi,
                                                  int need_unwind_info, void* arg);

namespace ringprof::unwind {
namespace {

constexpr uint8_t kEncDatarelSdata4 = 0x3b;  // DW_EH_PE_datarel | DW_EH_PE_sdata4

// libunwind's x86-64 register numbers (UNW_X86_64_RAX..RIP) to PERF_REG_X86_*.
constexpr int kPerfRegOf[] = {
    PERF_REG_X86_AX,  PERF_REG_X86_DX,  PERF_REG_X86_CX,  PERF_REG_X86_BX,  PERF_REG_X86_SI,
    PERF_REG_X86_DI,  PERF_REG_X86_BP,  PERF_REG_X86_SP,  PERF_REG_X86_R8,  PERF_REG_X86_R9,
    PERF_REG_X86_R10, PERF_REG_X86_R11, PERF_REG_X86_R12, PERF_REG_X86_R13, PERF_REG_X86_R14,
    PERF_REG_X86_R15, PERF_REG_X86_IP};
static_assert(UNW_X86_64_RIP == 16 && UNW_X86_64_R15 == 15);

// Size of a DW_EH_PE-encoded value, or 0 for encodings we do not accept.
size_t EncodedSize(uint8_t enc) {
  switch (enc & 0x0f) {
    case 0x00:  // absptr
    case 0x04:  // udata8
    case 0x0c:  // sdata8
      return 8;
    case 0x03:  // udata4
    case 0x0b:  // sdata4
      return 4;
    case 0x02:  // udata2
    case 0x0a:  // sdata2
      return 2;
    default:
      return 0;
  }
}

class Mmap {
 public:
  Mmap(const void* data, size_t size) : data_(static_cast<const uint8_t*>(data)), size_(size) {}
  ~Mmap() { ::munmap(const_cast<uint8_t*>(data_), size_); }
  Mmap(const Mmap&) = delete;
  Mmap& operator=(const Mmap&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_;
  size_t size_;
};

}  // namespace

// An mmapped ELF64 file: its PT_LOAD segments and, when usable, the binary
// search table of its .eh_frame_hdr (all addresses are link-time vaddrs).
struct DwarfUnwinder::ElfFile {
  struct Segment {
    uint64_t vaddr, offset, filesz;
    bool exec;
  };
  std::unique_ptr<Mmap> map;
  std::vector<Segment> loads;
  bool has_table = false;
  uint64_t hdr_vaddr = 0, table_vaddr = 0, fde_count = 0;

  // Reads the aligned word libunwind asks for; bytes past the end of the
  // file read as zero.
  bool ReadVaddr(uint64_t vaddr, unw_word_t* out) const {
    for (const Segment& s : loads) {
      if (vaddr < s.vaddr || vaddr - s.vaddr >= s.filesz) continue;
      uint64_t off = s.offset + (vaddr - s.vaddr);
      if (off >= map->size()) return false;
      *out = 0;
      std::memcpy(out, map->data() + off, std::min<uint64_t>(sizeof(*out), map->size() - off));
      return true;
    }
    return false;
  }

  static absl::StatusOr<std::shared_ptr<ElfFile>> Load(const std::string& path);
  void ParseEhFrameHdr(uint64_t offset, uint64_t size);
};

absl::StatusOr<std::shared_ptr<DwarfUnwinder::ElfFile>> DwarfUnwinder::ElfFile::Load(
    const std::string& path) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return LastErrnoStatus(absl::StrCat("open ", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return LastErrnoStatus(absl::StrCat("fstat ", path));
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) < sizeof(Elf64_Ehdr)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular ELF file"));
  }
  void* p = ::mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (p == MAP_FAILED) return LastErrnoStatus(absl::StrCat("mmap ", path));
  auto file = std::make_shared<ElfFile>();
  file->map = std::make_unique<Mmap>(p, st.st_size);
  const uint8_t* data = file->map->data();
  const uint64_t size = file->map->size();

  Elf64_Ehdr eh;
  std::memcpy(&eh, data, sizeof(eh));
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64 ||
      eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > size ||
      uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr) > size - eh.e_phoff) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not an x86-64 ELF64 file"));
  }
  uint64_t hdr_offset = 0, hdr_size = 0;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
    if (ph.p_type == PT_LOAD) {
      file->loads.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz, (ph.p_flags & PF_X) != 0});
    } else if (ph.p_type == PT_GNU_EH_FRAME) {
      file->hdr_vaddr = ph.p_vaddr;
      hdr_offset = ph.p_offset;
      hdr_size = ph.p_filesz;
    }
  }
  if (hdr_size != 0 && hdr_offset <= size && hdr_size <= size - hdr_offset) {
    file->ParseEhFrameHdr(hdr_offset, hdr_size);
  }
  return file;
}

// .eh_frame_hdr: version, eh_frame_ptr_enc, fde_count_enc, table_enc,
// eh_frame_ptr, fde_count, then fde_count (initial_loc, fde) sdata4 pairs
// relative to the header. libunwind only searches datarel|sdata4 tables.
void DwarfUnwinder::ElfFile::ParseEhFrameHdr(uint64_t offset, uint64_t size) {
  const uint8_t* h = map->data() + offset;
  if (size < 4 || h[0] != 1 || h[3] != kEncDatarelSdata4) return;
  const size_t ptr_size = h[1] == 0xff ? 0 : EncodedSize(h[1]);
  const size_t count_size = EncodedSize(h[2]);
  if ((h[1] != 0xff && ptr_size == 0) || count_size == 0) return;
  const uint64_t count_at = 4 + ptr_size;
  if (count_at + count_size > size) return;
  uint64_t count = 0;
  std::memcpy(&count, h + count_at, count_size);
  if ((h[2] & 0x08) && (count >> (count_size * 8 - 1)) != 0) return;  // negative sdata
  const uint64_t table_at = count_at + count_size;
  if (count == 0 || count > (size - table_at) / 8) return;
  table_vaddr = hdr_vaddr + table_at;
  fde_count = count;
  has_table = true;
}

// State of one Unwind() call; libunwind hands it back to every accessor.
struct DwarfUnwinder::Context {
  struct Image {
    uint64_t start, end, bias;  // runtime address = link-time vaddr + bias
    std::shared_ptr<const ElfFile> file;
  };
  DwarfUnwinder* self;
  const UserRegs* regs;
  absl::Span<const uint8_t> stack;
  uint64_t stack_addr;
  MappingLookup lookup;
  std::vector<Image> images;
  bool no_info = false;     // find_proc_info had no table for the IP
  bool read_fault = false;  // access_mem refused an address

  // The image of the executable mapping m, opened on first use.
  const Image* ImageFor(const FileMapping& m) {
    for (const Image& img : images) {
      if (img.start == m.start && img.end == m.end) return &img;
    }
    std::shared_ptr<const ElfFile> file = self->OpenFile(m.path);
    if (file == nullptr) return nullptr;
    const ElfFile::Segment* seg = nullptr;
    for (const ElfFile::Segment& s : file->loads) {
      if ((s.offset & ~uint64_t{4095}) <= m.pgoff && m.pgoff < s.offset + s.filesz &&
          (seg == nullptr || (s.exec && !seg->exec))) {
        seg = &s;
      }
    }
    if (seg == nullptr) return nullptr;
    images.push_back({m.start, m.end, m.start + seg->offset - m.pgoff - seg->vaddr, file});
    return &images.back();
  }

  bool Read(uint64_t addr, unw_word_t* out) {
    if (addr >= stack_addr && stack.size() >= sizeof(*out) &&
        addr - stack_addr <= stack.size() - sizeof(*out)) {
      std::memcpy(out, stack.data() + (addr - stack_addr), sizeof(*out));
      return true;
    }
    for (const Image& img : images) {
      if (img.file->ReadVaddr(addr - img.bias, out)) return true;
    }
    const FileMapping* m = lookup(addr);
    if (m != nullptr && addr >= m->start && addr < m->end) {
      const Image* img = ImageFor(*m);
      if (img != nullptr && img->file->ReadVaddr(addr - img->bias, out)) return true;
    }
    read_fault = true;
    return false;
  }
};

namespace {

using Context = DwarfUnwinder::Context;

int FindProcInfo(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t* pi, int need_unwind_info,
                 void* arg) {
  auto* ctx = static_cast<Context*>(arg);
  const FileMapping* m = ctx->lookup(ip);
  const Context::Image* img =
      (m != nullptr && ip >= m->start && ip < m->end) ? ctx->ImageFor(*m) : nullptr;
  if (img == nullptr || !img->file->has_table) {
    ctx->no_info = true;
    return -UNW_ENOINFO;
  }
  unw_dyn_info_t di;
  std::memset(&di, 0, sizeof(di));
  di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
  di.start_ip = m->start;
  di.end_ip = m->end;
  di.u.rti.segbase = img->file->hdr_vaddr + img->bias;
  di.u.rti.table_data = img->file->table_vaddr + img->bias;
  di.u.rti.table_len = img->file->fde_count * 8 / sizeof(unw_word_t);
  int ret = UNW_OBJ(dwarf_search_unwind_table)(as, ip, &di, pi, need_unwind_info, arg);
  if (ret == -UNW_ENOINFO) ctx->no_info = true;
  return ret;
}

// dwarf_search_unwind_table fills pi->unwind_info from libunwind's own pool
// (format UNW_INFO_FORMAT_TABLE) and libunwind frees it itself; this hook
// only runs for dynamically registered info, which we never report.
void PutUnwindInfo(unw_addr_space_t, unw_proc_info_t*, void*) {}

int GetDynInfoListAddr(unw_addr_space_t, unw_word_t*, void*) { return -UNW_ENOINFO; }

int AccessMem(unw_addr_space_t, unw_word_t addr, unw_word_t* valp, int write, void* arg) {
  if (write) return -UNW_EINVAL;
  return static_cast<Context*>(arg)->Read(addr, valp) ? 0 : -UNW_EINVAL;
}

int AccessReg(unw_addr_space_t, unw_regnum_t reg, unw_word_t* valp, int write, void* arg) {
  if (write) return -UNW_EREADONLYREG;
  if (reg < 0 || reg > UNW_X86_64_RIP) return -UNW_EBADREG;
  const UserRegs& regs = *static_cast<Context*>(arg)->regs;
  const int perf_reg = kPerfRegOf[reg];
  if ((regs.mask & (uint64_t{1} << perf_reg)) == 0) return -UNW_EBADREG;
  *valp = regs.regs[perf_reg];
  return 0;
}

int AccessFpreg(unw_addr_space_t, unw_regnum_t, unw_fpreg_t*, int, void*) { return -UNW_EINVAL; }

int Resume(unw_addr_space_t, unw_cursor_t*, void*) { return -UNW_EINVAL; }

int GetProcName(unw_addr_space_t, unw_word_t, char*, size_t, unw_word_t*, void*) {
  return -UNW_EINVAL;
}

unw_accessors_t kAccessors = {FindProcInfo, PutUnwindInfo, GetDynInfoListAddr, AccessMem, AccessReg,
                              AccessFpreg,  Resume,        GetProcName};

}  // namespace

absl::StatusOr<UserRegs> UserRegsFromSample(absl::Span<const uint64_t> values, uint64_t mask) {
  if (mask >> PERF_REG_X86_64_MAX != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("regs mask 0x", absl::Hex(mask), " has bits beyond PERF_REG_X86_64_MAX"));
  }
  if (static_cast<size_t>(__builtin_popcountll(mask)) != values.size()) {
    return absl::InvalidArgumentError(absl::StrCat("regs mask 0x", absl::Hex(mask), " needs ",
                                                   __builtin_popcountll(mask), " values, got ",
                                                   values.size()));
  }
  UserRegs regs;
  regs.mask = mask;
  size_t next = 0;
  for (int i = 0; i < PERF_REG_X86_64_MAX; ++i) {
    if (mask & (uint64_t{1} << i)) regs.regs[i] = values[next++];
  }
  return regs;
}

DwarfUnwinder::DwarfUnwinder() : as_(unw_create_addr_space(&kAccessors, 0)) {
  if (as_ == nullptr) std::abort();
  // One address space serves samples of every process, and libunwind's
  // caches are keyed by IP alone: the same IP in two processes can be two
  // different binaries. UNW_CACHE_NONE rules stale entries out; flushing per
  // call would buy nothing, as a cache that lives for a single 10-frame
  // stack is almost never hit.
  unw_set_caching_policy(as_, UNW_CACHE_NONE);
}

DwarfUnwinder::~DwarfUnwinder() { unw_destroy_addr_space(as_); }

std::shared_ptr<const DwarfUnwinder::ElfFile> DwarfUnwinder::OpenFile(const std::string& path) {
  auto it = files_.find(path);
  if (it != files_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.file;
  }
  absl::StatusOr<std::shared_ptr<ElfFile>> file = ElfFile::Load(path);
  if (!file.ok()) {
    ++stats_.files_failed;
  } else {
    ++stats_.files_opened;
    if (!(*file)->has_table) ++stats_.files_without_table;
  }
  if (files_.size() >= kMaxFiles) {
    files_.erase(lru_.back());
    lru_.pop_back();
    ++stats_.cache_evictions;
  }
  lru_.push_front(path);
  std::shared_ptr<const ElfFile> result = file.ok() ? *std::move(file) : nullptr;
  files_[path] = CacheEntry{result, lru_.begin()};
  return result;
}

void DwarfUnwinder::ClearCache() {
  files_.clear();
  lru_.clear();
}

absl::StatusOr<DwarfStack> DwarfUnwinder::Unwind(const UserRegs& regs,
                                                 absl::Span<const uint8_t> stack,
                                                 uint64_t stack_addr, MappingLookup lookup,
                                                 int max_frames) {
  constexpr uint64_t kNeeded = (uint64_t{1} << PERF_REG_X86_IP) | (uint64_t{1} << PERF_REG_X86_SP);
  if ((regs.mask & kNeeded) != kNeeded) {
    return absl::InvalidArgumentError("sample registers lack IP or SP");
  }
  ++stats_.unwinds;
  DwarfStack out;
  out.pcs.push_back(regs.regs[PERF_REG_X86_IP]);
  Context ctx{this, &regs, stack, stack_addr, lookup, {}};
  unw_cursor_t cursor;
  if (unw_init_remote(&cursor, as_, &ctx) < 0) {
    out.stop = DwarfStop::kError;
    return out;
  }
  while (true) {
    if (static_cast<int>(out.pcs.size()) >= max_frames) {
      out.stop = DwarfStop::kDepth;
      break;
    }
    ctx.no_info = ctx.read_fault = false;
    const int ret = unw_step(&cursor);
    // On x86-64 libunwind answers a missing table with a frame-pointer guess
    // and a positive return; no_info catches that, and the guess is dropped.
    if (ctx.no_info || ret == -UNW_ENOINFO) {
      out.stop = DwarfStop::kNoInfo;
      break;
    }
    if (ret <= 0) {
      out.stop =
          ret == 0 ? DwarfStop::kEnd : (ctx.read_fault ? DwarfStop::kReadFault : DwarfStop::kError);
      break;
    }
    unw_word_t ip = 0;
    if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0) {
      out.stop = DwarfStop::kError;
      break;
    }
    if (ip == 0) {
      out.stop = DwarfStop::kEnd;
      break;
    }
    out.pcs.push_back(ip);
  }
  stats_.frames += out.pcs.size();
  return out;
}

}  // namespace ringprof::unwind
