// Tests of the libunwind-based DWARF unwinder on this very process: a chain
// of functions built without frame pointers captures its registers and
// stack like a perf sample, and the unwinder must agree with glibc's
// backtrace() (libgcc's unwinder, independent of libunwind). This file is
// compiled with -fomit-frame-pointer -fno-optimize-sibling-calls.
#include "unwind/dwarf_unwinder.h"

#include <dlfcn.h>
#include <elf.h>
#include <execinfo.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/scoped_fd.h"
#include "gtest/gtest.h"

namespace {

using ringprof::unwind::DwarfStack;
using ringprof::unwind::DwarfStop;
using ringprof::unwind::DwarfUnwinder;
using ringprof::unwind::FileMapping;
using ringprof::unwind::kDwarfRegsMask;
using ringprof::unwind::UserRegs;

struct Capture {
  UserRegs regs;
  std::vector<uint8_t> stack;
  uint64_t stack_addr = 0;
  void* bt[64];
  int bt_n = 0;
};

}  // namespace

// Exported (ENABLE_EXPORTS) so that dladdr names them.
extern "C" {

__attribute__((noinline)) void RpDwarfChainLeaf(Capture* c, int spin) {
  volatile char pad[256];  // a frame larger than the 64-byte truncation test
  pad[0] = static_cast<char>(spin);
  if (spin > 0) {
    volatile uint64_t x = 1;
    for (int i = 0; i < spin; ++i) x = x * 6364136223846793005ULL + pad[0];
    return;
  }
  uint64_t r[8];
  asm volatile(
      "lea 0(%%rip), %%rax\n\t"
      "mov %%rax, 0(%0)\n\t"
      "mov %%rsp, 8(%0)\n\t"
      "mov %%rbp, 16(%0)\n\t"
      "mov %%rbx, 24(%0)\n\t"
      "mov %%r12, 32(%0)\n\t"
      "mov %%r13, 40(%0)\n\t"
      "mov %%r14, 48(%0)\n\t"
      "mov %%r15, 56(%0)\n\t"
      :
      : "r"(r)
      : "rax", "memory");
  const int idx[] = {PERF_REG_X86_IP,  PERF_REG_X86_SP,  PERF_REG_X86_BP,  PERF_REG_X86_BX,
                     PERF_REG_X86_R12, PERF_REG_X86_R13, PERF_REG_X86_R14, PERF_REG_X86_R15};
  for (int i = 0; i < 8; ++i) {
    c->regs.regs[idx[i]] = r[i];
    c->regs.mask |= uint64_t{1} << idx[i];
  }
  pthread_attr_t attr;
  void* base = nullptr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    pthread_attr_getstack(&attr, &base, &size);
    pthread_attr_destroy(&attr);
  }
  uint64_t top = reinterpret_cast<uint64_t>(base) + size;
  c->stack_addr = r[1];
  uint64_t len = top > r[1] ? std::min<uint64_t>(top - r[1], 16384) : 0;
  c->stack.assign(reinterpret_cast<const uint8_t*>(r[1]),
                  reinterpret_cast<const uint8_t*>(r[1]) + len);
  c->bt_n = backtrace(c->bt, 64);
}

__attribute__((noinline)) void RpDwarfChainC(Capture* c, int spin) {
  volatile char pad[40];
  pad[0] = 1;
  RpDwarfChainLeaf(c, spin + pad[0] - 1);
}

__attribute__((noinline)) void RpDwarfChainB(Capture* c, int spin) {
  volatile char pad[24];
  pad[0] = 1;
  RpDwarfChainC(c, spin + pad[0] - 1);
}

__attribute__((noinline)) void RpDwarfChainA(Capture* c, int spin) {
  volatile char pad[8];
  pad[0] = 1;
  RpDwarfChainB(c, spin + pad[0] - 1);
}

}  // extern "C"

namespace {

// Executable file mappings of this process.
std::vector<FileMapping> ReadSelfMaps() {
  std::vector<FileMapping> maps;
  std::ifstream in("/proc/self/maps");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string range, perms, offset, dev, inode, path;
    ls >> range >> perms >> offset >> dev >> inode >> path;
    if (perms.size() < 3 || perms[2] != 'x' || path.empty() || path[0] != '/') continue;
    FileMapping m;
    m.path = path;
    m.start = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
    m.end = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
    m.pgoff = std::stoull(offset, nullptr, 16);
    maps.push_back(m);
  }
  return maps;
}

const FileMapping* Find(const std::vector<FileMapping>& maps, uint64_t addr) {
  for (const FileMapping& m : maps) {
    if (addr >= m.start && addr < m.end) return &m;
  }
  return nullptr;
}

std::string SymbolAt(uint64_t pc) {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(pc), &info) == 0 || info.dli_sname == nullptr) return "?";
  return info.dli_sname;
}

Capture CaptureChain() {
  Capture c;
  RpDwarfChainA(&c, 0);
  return c;
}

class DwarfUnwinderTest : public ::testing::Test {
 protected:
  DwarfStack Unwind(const Capture& c, absl::Span<const uint8_t> stack,
                    const std::vector<FileMapping>& maps) {
    auto r =
        unwinder_.Unwind(c.regs, stack, c.stack_addr, [&](uint64_t a) { return Find(maps, a); });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : DwarfStack{};
  }

  DwarfUnwinder unwinder_;
  std::vector<FileMapping> maps_ = ReadSelfMaps();
};

TEST(UserRegsFromSampleTest, UnpacksInBitOrder) {
  const uint64_t mask =
      (1u << PERF_REG_X86_BX) | (1u << PERF_REG_X86_IP) | (uint64_t{1} << PERF_REG_X86_R15);
  const uint64_t values[] = {11, 22, 33};
  auto regs = ringprof::unwind::UserRegsFromSample(values, mask);
  ASSERT_TRUE(regs.ok()) << regs.status();
  EXPECT_EQ(regs->mask, mask);
  EXPECT_EQ(regs->regs[PERF_REG_X86_BX], 11u);
  EXPECT_EQ(regs->regs[PERF_REG_X86_IP], 22u);
  EXPECT_EQ(regs->regs[PERF_REG_X86_R15], 33u);
  EXPECT_EQ(regs->regs[PERF_REG_X86_AX], 0u);
  EXPECT_FALSE(ringprof::unwind::UserRegsFromSample(absl::MakeConstSpan(values, 2), mask).ok());
  EXPECT_FALSE(ringprof::unwind::UserRegsFromSample(values, uint64_t{7} << 40).ok());
}

TEST(UserRegsFromSampleTest, MaskCoversTheKernelsUserRegs) {
  EXPECT_EQ(__builtin_popcountll(kDwarfRegsMask), 20);
  EXPECT_EQ(kDwarfRegsMask & (uint64_t{1} << PERF_REG_X86_DS), 0u);
  EXPECT_EQ(kDwarfRegsMask & (uint64_t{1} << PERF_REG_X86_GS), 0u);
  EXPECT_NE(kDwarfRegsMask & (uint64_t{1} << PERF_REG_X86_R15), 0u);
  EXPECT_NE(kDwarfRegsMask & (uint64_t{1} << PERF_REG_X86_SS), 0u);
}

TEST_F(DwarfUnwinderTest, MatchesBacktraceThroughChain) {
  Capture c = CaptureChain();
  ASSERT_GT(c.bt_n, 5);
  DwarfStack s = Unwind(c, c.stack, maps_);
  ASSERT_GE(s.pcs.size(), 4u);
  EXPECT_EQ(SymbolAt(s.pcs[0]), "RpDwarfChainLeaf");
  EXPECT_EQ(SymbolAt(s.pcs[1] - 1), "RpDwarfChainC");
  EXPECT_EQ(SymbolAt(s.pcs[2] - 1), "RpDwarfChainB");
  EXPECT_EQ(SymbolAt(s.pcs[3] - 1), "RpDwarfChainA");
  // backtrace()'s frame 0 is its call site inside the leaf; from frame 1 on
  // both report the same return addresses.
  EXPECT_EQ(SymbolAt(reinterpret_cast<uint64_t>(c.bt[0]) - 1), "RpDwarfChainLeaf");
  size_t common = std::min<size_t>(s.pcs.size(), c.bt_n);
  for (size_t i = 1; i < common; ++i) {
    EXPECT_EQ(s.pcs[i], reinterpret_cast<uint64_t>(c.bt[i])) << "frame " << i;
  }
  // 16 KiB reaches _start in this test binary; stopping at the copy's end
  // would be the only other valid outcome.
  if (s.stop == DwarfStop::kEnd) {
    EXPECT_EQ(s.pcs.size(), static_cast<size_t>(c.bt_n));
  } else {
    EXPECT_EQ(s.stop, DwarfStop::kReadFault);
  }
  EXPECT_GE(unwinder_.stats().files_opened, 2u);  // the test binary and libc
  EXPECT_EQ(unwinder_.stats().files_failed, 0u);

  // The cache answers the second unwind without reopening anything.
  const uint64_t opened = unwinder_.stats().files_opened;
  DwarfStack again = Unwind(c, c.stack, maps_);
  EXPECT_EQ(again.pcs, s.pcs);
  EXPECT_EQ(unwinder_.stats().files_opened, opened);
}

// mprotect or partial mmap splits a segment into mappings whose pgoff is not
// the segment's offset; the load bias must come out the same.
TEST_F(DwarfUnwinderTest, SplitMappingsGiveTheSameStack) {
  Capture c = CaptureChain();
  DwarfStack whole = Unwind(c, c.stack, maps_);
  std::vector<FileMapping> pages;
  for (const FileMapping& m : maps_) {
    for (uint64_t at = m.start; at < m.end; at += 4096) {
      pages.push_back({m.path, at, at + 4096, m.pgoff + (at - m.start)});
    }
  }
  DwarfUnwinder fresh;
  auto split =
      fresh.Unwind(c.regs, c.stack, c.stack_addr, [&](uint64_t a) { return Find(pages, a); });
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->pcs, whole.pcs);
  EXPECT_EQ(split->stop, whole.stop);
}

TEST_F(DwarfUnwinderTest, StopsAtDepth) {
  Capture c = CaptureChain();
  auto s = unwinder_.Unwind(
      c.regs, c.stack, c.stack_addr, [&](uint64_t a) { return Find(maps_, a); }, 3);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->pcs.size(), 3u);
  EXPECT_EQ(s->stop, DwarfStop::kDepth);
}

TEST_F(DwarfUnwinderTest, TruncatedStackIsAReadFault) {
  Capture c = CaptureChain();
  DwarfStack full = Unwind(c, c.stack, maps_);
  DwarfStack s = Unwind(c, absl::MakeConstSpan(c.stack).first(64), maps_);
  EXPECT_EQ(s.stop, DwarfStop::kReadFault);
  ASSERT_FALSE(s.pcs.empty());
  EXPECT_LT(s.pcs.size(), full.pcs.size());
  EXPECT_EQ(s.pcs[0], c.regs.regs[PERF_REG_X86_IP]);
  DwarfStack empty = Unwind(c, {}, maps_);
  EXPECT_EQ(empty.stop, DwarfStop::kReadFault);
  EXPECT_EQ(empty.pcs.size(), 1u);
}

TEST_F(DwarfUnwinderTest, UnmappedLeafIsNoInfo) {
  Capture c = CaptureChain();
  DwarfStack s = Unwind(c, c.stack, {});
  EXPECT_EQ(s.stop, DwarfStop::kNoInfo);
  EXPECT_EQ(s.pcs, std::vector<uint64_t>{c.regs.regs[PERF_REG_X86_IP]});
}

TEST_F(DwarfUnwinderTest, MissingFileIsNoInfo) {
  Capture c = CaptureChain();
  std::vector<FileMapping> maps = maps_;
  for (FileMapping& m : maps) m.path = "/nonexistent/ringprof/" + m.path;
  DwarfStack s = Unwind(c, c.stack, maps);
  EXPECT_EQ(s.stop, DwarfStop::kNoInfo);
  EXPECT_EQ(s.pcs.size(), 1u);
  EXPECT_EQ(unwinder_.stats().files_failed, 1u);
  EXPECT_EQ(unwinder_.stats().files_opened, 0u);
}

TEST_F(DwarfUnwinderTest, RequiresIpAndSp) {
  UserRegs regs;
  regs.mask = uint64_t{1} << PERF_REG_X86_IP;
  EXPECT_FALSE(
      unwinder_.Unwind(regs, {}, 0, [](uint64_t) -> const FileMapping* { return nullptr; }).ok());
}

TEST_F(DwarfUnwinderTest, GarbageRegistersAndStacksStopCleanly) {
  std::mt19937_64 rng(42);
  Capture c = CaptureChain();
  const FileMapping* exe = Find(maps_, c.regs.regs[PERF_REG_X86_IP]);
  ASSERT_NE(exe, nullptr);
  for (int iter = 0; iter < 2000; ++iter) {
    UserRegs regs;
    regs.mask = kDwarfRegsMask;
    for (uint64_t& r : regs.regs) r = rng();
    // Half the IPs land in real code so that real CFI meets a junk stack.
    if (iter % 2 == 0) regs.regs[PERF_REG_X86_IP] = exe->start + rng() % (exe->end - exe->start);
    std::vector<uint8_t> stack(rng() % 512);
    for (uint8_t& b : stack) b = static_cast<uint8_t>(rng());
    // Sometimes the junk points back into the junk stack or the text.
    for (size_t i = 0; i + 8 <= stack.size(); i += 8) {
      uint64_t v = rng() % 3 == 0 ? regs.regs[PERF_REG_X86_SP] + rng() % 512
                                  : exe->start + rng() % (exe->end - exe->start);
      if (rng() % 2) std::memcpy(&stack[i], &v, 8);
    }
    auto s = unwinder_.Unwind(
        regs, stack, regs.regs[PERF_REG_X86_SP], [&](uint64_t a) { return Find(maps_, a); }, 64);
    ASSERT_TRUE(s.ok());
    ASSERT_FALSE(s->pcs.empty());
    EXPECT_LE(s->pcs.size(), 64u);
  }
}

// A copy of this test binary with its .eh_frame_hdr damaged (or its
// PT_GNU_EH_FRAME removed) must stop the unwind, never crash it.
class CorruptFileTest : public DwarfUnwinderTest {
 protected:
  void SetUp() override {
    std::ifstream in("/proc/self/exe", std::ios::binary);
    image_.assign(std::istreambuf_iterator<char>(in), {});
    ASSERT_GT(image_.size(), sizeof(Elf64_Ehdr));
    Elf64_Ehdr eh;
    std::memcpy(&eh, image_.data(), sizeof(eh));
    for (int i = 0; i < eh.e_phnum; ++i) {
      size_t at = eh.e_phoff + i * sizeof(Elf64_Phdr);
      Elf64_Phdr ph;
      std::memcpy(&ph, image_.data() + at, sizeof(ph));
      if (ph.p_type == PT_GNU_EH_FRAME) {
        phdr_at_ = at;
        hdr_ = ph;
      }
    }
    ASSERT_NE(phdr_at_, 0u);
  }

  DwarfStack UnwindWithCopy(const Capture& c) {
    char path[] = "/tmp/ringprof_dwarf_XXXXXX";
    ringprof::ScopedFd fd(mkstemp(path));
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(write(fd.get(), image_.data(), image_.size()), static_cast<ssize_t>(image_.size()));
    std::vector<FileMapping> maps = maps_;
    const FileMapping* exe = Find(maps_, c.regs.regs[PERF_REG_X86_IP]);
    for (FileMapping& m : maps) {
      if (m.path == exe->path) m.path = path;
    }
    DwarfStack s = Unwind(c, c.stack, maps);
    unlink(path);
    return s;
  }

  std::string image_;
  size_t phdr_at_ = 0;
  Elf64_Phdr hdr_{};
};

TEST_F(CorruptFileTest, NoEhFrameHdrIsNoInfo) {
  Capture c = CaptureChain();
  Elf64_Phdr ph = hdr_;
  ph.p_type = PT_NULL;
  std::memcpy(&image_[phdr_at_], &ph, sizeof(ph));
  DwarfStack s = UnwindWithCopy(c);
  EXPECT_EQ(s.stop, DwarfStop::kNoInfo);
  EXPECT_EQ(s.pcs.size(), 1u);
  EXPECT_EQ(unwinder_.stats().files_without_table, 1u);
}

TEST_F(CorruptFileTest, BadTableEncodingIsNoInfo) {
  Capture c = CaptureChain();
  image_[hdr_.p_offset + 3] = 0x1b;  // pcrel|sdata4: libunwind cannot search it
  DwarfStack s = UnwindWithCopy(c);
  EXPECT_EQ(s.stop, DwarfStop::kNoInfo);
  EXPECT_EQ(unwinder_.stats().files_without_table, 1u);
}

TEST_F(CorruptFileTest, ScrambledTableNeverCrashes) {
  Capture c = CaptureChain();
  std::mt19937_64 rng(7);
  const std::string pristine = image_;
  for (int iter = 0; iter < 30; ++iter) {
    image_ = pristine;
    // Damage the table (and, every other time, huge fde_count values).
    for (uint64_t i = 12; i < hdr_.p_filesz; ++i) {
      if (rng() % 4 == 0) image_[hdr_.p_offset + i] = static_cast<char>(rng());
    }
    if (iter % 2) {
      uint32_t count = static_cast<uint32_t>(rng());
      std::memcpy(&image_[hdr_.p_offset + 8], &count, 4);
    }
    unwinder_.ClearCache();
    DwarfStack s = UnwindWithCopy(c);
    ASSERT_FALSE(s.pcs.empty());
  }
}

// perf_event_open on ourselves, the way the collector samples: task-clock,
// REGS_USER + STACK_USER, drained from the mmap ring.
class PerfRing {
 public:
  static constexpr size_t kDataPages = 256;

  bool Open(std::string* why) {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.sample_period = 100000;
    attr.sample_type =
        PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
    attr.sample_regs_user = kDwarfRegsMask;
    attr.sample_stack_user = ringprof::unwind::kDwarfStackBytes;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    attr.disabled = 1;
    fd_.Reset(
        static_cast<int>(syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC)));
    if (!fd_.valid()) {
      *why = std::string("perf_event_open: ") + strerror(errno);
      return false;
    }
    page_ = sysconf(_SC_PAGESIZE);
    len_ = (kDataPages + 1) * page_;
    base_ = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    if (base_ == MAP_FAILED) {
      base_ = nullptr;
      *why = std::string("mmap perf ring: ") + strerror(errno);
      return false;
    }
    return true;
  }
  ~PerfRing() {
    if (base_ != nullptr) munmap(base_, len_);
  }
  void Enable(bool on) { ioctl(fd_.get(), on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0); }

  // Calls fn(record bytes) for every record in the ring, then frees them.
  template <typename Fn>
  void Drain(Fn fn) {
    auto* meta = static_cast<perf_event_mmap_page*>(base_);
    const uint8_t* data = static_cast<const uint8_t*>(base_) + page_;
    const uint64_t size = kDataPages * page_;
    uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = meta->data_tail;
    std::vector<uint8_t> rec;
    while (tail + sizeof(perf_event_header) <= head) {
      perf_event_header h;
      for (size_t i = 0; i < sizeof(h); ++i) {
        reinterpret_cast<uint8_t*>(&h)[i] = data[(tail + i) % size];
      }
      if (h.size < sizeof(h) || tail + h.size > head) break;
      rec.resize(h.size);
      for (size_t i = 0; i < h.size; ++i) rec[i] = data[(tail + i) % size];
      fn(rec);
      tail += h.size;
    }
    __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
  }

 private:
  ringprof::ScopedFd fd_;
  void* base_ = nullptr;
  size_t len_ = 0;
  size_t page_ = 4096;
};

TEST_F(DwarfUnwinderTest, UnwindsRealPerfSamples) {
  PerfRing ring;
  std::string why;
  if (!ring.Open(&why)) GTEST_SKIP() << why << " (needs perf_event_paranoid <= 1 or root)";
  int leaf = 0, with_chain = 0, bad_records = 0;
  auto on_record = [&](const std::vector<uint8_t>& rec) {
    perf_event_header h;
    std::memcpy(&h, rec.data(), sizeof(h));
    if (h.type != PERF_RECORD_SAMPLE) return;
    const int nregs = __builtin_popcountll(kDwarfRegsMask);
    size_t at = sizeof(h);
    auto u64 = [&](uint64_t* v) {
      if (at + 8 > rec.size()) return false;
      std::memcpy(v, &rec[at], 8);
      at += 8;
      return true;
    };
    uint64_t ip, pid_tid, abi, size = 0, dyn_size = 0;
    std::vector<uint64_t> regs(nregs);
    bool ok = u64(&ip) && u64(&pid_tid) && u64(&abi);
    for (int i = 0; ok && abi != PERF_SAMPLE_REGS_ABI_NONE && i < nregs; ++i) ok = u64(&regs[i]);
    ok = ok && abi == PERF_SAMPLE_REGS_ABI_64 && u64(&size) && at + size <= rec.size();
    const size_t stack_at = at;
    at += size;
    ok = ok && size != 0 && u64(&dyn_size) && dyn_size <= size;
    if (!ok) {
      ++bad_records;
      return;
    }
    if (SymbolAt(ip) != "RpDwarfChainLeaf") return;
    ++leaf;
    auto user = ringprof::unwind::UserRegsFromSample(regs, kDwarfRegsMask);
    ASSERT_TRUE(user.ok()) << user.status();
    EXPECT_EQ(user->regs[PERF_REG_X86_IP], ip);
    auto s =
        unwinder_.Unwind(*user, absl::MakeConstSpan(&rec[stack_at], dyn_size),
                         user->regs[PERF_REG_X86_SP], [&](uint64_t a) { return Find(maps_, a); });
    ASSERT_TRUE(s.ok()) << s.status();
    if (s->pcs.size() >= 5 && SymbolAt(s->pcs[1] - 1) == "RpDwarfChainC" &&
        SymbolAt(s->pcs[2] - 1) == "RpDwarfChainB" && SymbolAt(s->pcs[3] - 1) == "RpDwarfChainA") {
      ++with_chain;
    }
  };
  for (int round = 0; round < 400 && leaf < 200; ++round) {
    ring.Enable(true);
    RpDwarfChainA(nullptr, 300000);
    ring.Enable(false);
    ring.Drain(on_record);
  }
  EXPECT_EQ(bad_records, 0);
  ASSERT_GE(leaf, 20) << "too few samples in the leaf";
  EXPECT_GE(with_chain * 10, leaf * 9) << with_chain << " of " << leaf << " leaf samples";
}

}  // namespace
