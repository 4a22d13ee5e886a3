// How functions are named in reports (docs/REPORTS.md, "How functions are
// named"): vDSO frames carry "[vdso]" in every output, and a kernel syscall
// entry shared by both ABIs is named for the task's ABI.
#include <gelf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libelf.h>
#include <link.h>
#include <sys/auxv.h>

#include <filesystem>
#include <string>

#include "formats/pprof.h"
#include "report/flamegraph.h"
#include "report/profile_builder.h"
#include "report/table.h"
#include "tests/report/test_tools.h"

namespace ringprof::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kStart = 0x555555554000;
constexpr uint64_t kVdsoStart = 0x7ffff7fc1000;
constexpr uint32_t kTargetMapping = 7;
constexpr uint32_t kVdsoMapping = 8;
constexpr uint32_t kLib32Mapping = 9;
constexpr uint32_t kPid = 100;
constexpr uint32_t kPid32 = 200;

// This process's vDSO image, as the recorder stores it (an IMAGE chunk).
std::string VdsoImage() {
  const auto* ehdr = reinterpret_cast<const ElfW(Ehdr)*>(getauxval(AT_SYSINFO_EHDR));
  if (ehdr == nullptr) return "";
  size_t size = ehdr->e_shoff + size_t{ehdr->e_shnum} * ehdr->e_shentsize;
  const auto* phdr =
      reinterpret_cast<const ElfW(Phdr)*>(reinterpret_cast<const char*>(ehdr) + ehdr->e_phoff);
  for (int i = 0; i < ehdr->e_phnum; ++i) {
    if (phdr[i].p_type == PT_LOAD)
      size = std::max<size_t>(size, phdr[i].p_offset + phdr[i].p_filesz);
  }
  return std::string(reinterpret_cast<const char*>(ehdr), size);
}

// The file offset of dynamic symbol `name` in an ELF image held in memory.
std::optional<uint64_t> DynamicSymbolOffset(const std::string& image, const std::string& name) {
  if (elf_version(EV_CURRENT) == EV_NONE) return std::nullopt;
  std::string copy = image;
  Elf* elf = elf_memory(copy.data(), copy.size());
  std::optional<uint64_t> vaddr;
  for (Elf_Scn* scn = nullptr; elf != nullptr && (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr || sh.sh_type != SHT_DYNSYM || sh.sh_entsize == 0)
      continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    for (size_t i = 0; data != nullptr && i < sh.sh_size / sh.sh_entsize; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
      const char* n = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (n != nullptr && name == n) vaddr = sym.st_value;
    }
  }
  std::optional<uint64_t> offset;
  size_t phnum = 0;
  if (vaddr && elf_getphdrnum(elf, &phnum) == 0) {
    for (size_t i = 0; i < phnum; ++i) {
      GElf_Phdr ph;
      if (gelf_getphdr(elf, static_cast<int>(i), &ph) != nullptr && ph.p_type == PT_LOAD &&
          *vaddr >= ph.p_vaddr && *vaddr < ph.p_vaddr + ph.p_filesz) {
        offset = *vaddr - ph.p_vaddr + ph.p_offset;
      }
    }
  }
  if (elf != nullptr) elf_end(elf);
  return offset;
}

std::string FunctionName(const formats::Profile& p, uint64_t id) {
  for (const auto& f : p.functions)
    if (f.id == id) return f.name;
  return "<missing function>";
}

// Leaf-first function names of a sample (innermost line of each location).
std::vector<std::string> StackNames(const formats::Profile& p, const formats::ProfileSample& s) {
  std::vector<std::string> out;
  for (uint64_t id : s.location_ids) {
    for (const auto& l : p.locations) {
      if (l.id != id) continue;
      for (const auto& line : l.lines) out.push_back(FunctionName(p, line.function_id));
    }
  }
  return out;
}

class NamingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = RINGPROF_REPORT_TARGET;
    auto main_fn = ringprof::testing::FindFunction(path_, "main");
    ASSERT_TRUE(main_fn) << "main missing in " << path_;
    main_ = *main_fn;
    absl::StatusOr<std::string> build_id = symbolizer::ReadBuildId(path_);
    ASSERT_TRUE(build_id.ok()) << build_id.status();
    rec_.events = {{.name = "cpu-clock",
                    .type = 1,
                    .config = 0,
                    .freq = false,
                    .sample_freq_or_period = 1000000,
                    .unit = "nanoseconds"}};
    rec_.start_time_ns = 1'000'000'000;
    rec_.end_time_ns = 3'000'000'000;
    rec_.mappings = {{.id = kTargetMapping,
                      .pid = kPid,
                      .time_ns = 0,
                      .start = kStart,
                      .end = kStart + 0x10000,
                      .pgoff = 0,
                      .prot = 5,
                      .build_id = *build_id,
                      .path = path_}};
    rec_.tasks = {{.kind = formats::TaskEventKind::kComm,
                   .time_ns = 0,
                   .pid = kPid,
                   .tid = kPid,
                   .comm = "target"}};
  }

  formats::Sample Sample(uint32_t pid, std::vector<formats::UserFrame> frames) {
    formats::Sample s;
    s.time_ns = 1'500'000'000;
    s.pid = pid;
    s.tid = pid;
    s.period = 1000000;
    s.user_frames = std::move(frames);
    return s;
  }

  absl::StatusOr<formats::Profile> Build() {
    symbolizer::Symbolizer sym(symbolizer::SymbolizerOptions{});
    return BuildProfile(rec_, sym, BuildOptions{});
  }

  std::string path_;
  ringprof::testing::SymbolRange main_;
  formats::Recording rec_;
};

TEST_F(NamingTest, VdsoFramesAreTaggedInEveryOutput) {
  const std::string image = VdsoImage();
  if (image.empty()) GTEST_SKIP() << "no vDSO in this process";
  std::optional<uint64_t> clock = DynamicSymbolOffset(image, "clock_gettime");
  if (!clock) GTEST_SKIP() << "the vDSO has no clock_gettime";
  rec_.images = {{.name = "[vdso]", .bytes = image}};
  rec_.mappings.push_back({.id = kVdsoMapping,
                           .pid = kPid,
                           .time_ns = 0,
                           .start = kVdsoStart,
                           .end = kVdsoStart + 0x2000,
                           .pgoff = 0,
                           .prot = 5,
                           .build_id = "",
                           .path = "[vdso]"});
  // clock_gettime in the vDSO, called from main.
  for (int i = 0; i < 3; ++i) {
    rec_.samples.push_back(
        Sample(kPid, {{kVdsoMapping, *clock + 16}, {kTargetMapping, main_.file_offset + 4}}));
  }
  absl::StatusOr<formats::Profile> p = Build();
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->samples.size(), 1u);
  EXPECT_EQ(StackNames(*p, p->samples[0]),
            (std::vector<std::string>{"clock_gettime [vdso]", "main"}));
  // pprof: the Function's name carries the tag, its system_name is the
  // symbol; the Mapping says [vdso] too.
  bool found = false;
  for (const formats::ProfileFunction& f : p->functions) {
    if (f.name != "clock_gettime [vdso]") continue;
    found = true;
    EXPECT_EQ(f.system_name, "clock_gettime");
  }
  EXPECT_TRUE(found);
  bool vdso_mapping = false;
  for (const formats::ProfileMapping& m : p->mappings) vdso_mapping |= m.filename == "[vdso]";
  EXPECT_TRUE(vdso_mapping);

  absl::StatusOr<std::string> table = FormatReport(*p, TableOptions{});
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(*table, HasSubstr("  clock_gettime [vdso]\n"));
  absl::StatusOr<std::string> folded = FoldedStacks(*p, "");
  ASSERT_TRUE(folded.ok()) << folded.status();
  EXPECT_EQ(*folded, "main;clock_gettime [vdso] 3\n");
  absl::StatusOr<std::string> svg = RenderFlameGraphSvg(*p, FlameGraphOptions{});
  ASSERT_TRUE(svg.ok()) << svg.status();
  EXPECT_THAT(*svg, HasSubstr("clock_gettime [vdso]"));
  absl::StatusOr<std::string> pprof = formats::EncodePprof(*p);
  ASSERT_TRUE(pprof.ok()) << pprof.status();
  EXPECT_THAT(*pprof, HasSubstr("clock_gettime [vdso]"));
}

TEST_F(NamingTest, UnsymbolizedVdsoFramesKeepTheirOffsetName) {
  // No image stored (a 32-bit process's vDSO, an old recording): the frame
  // is "[vdso]+0x..", which already says where it is; no second tag.
  rec_.mappings.push_back({.id = kVdsoMapping,
                           .pid = kPid,
                           .time_ns = 0,
                           .start = kVdsoStart,
                           .end = kVdsoStart + 0x2000,
                           .pgoff = 0,
                           .prot = 5,
                           .build_id = "",
                           .path = "[vdso]"});
  rec_.samples.push_back(Sample(kPid, {{kVdsoMapping, 0xb20}}));
  absl::StatusOr<formats::Profile> p = Build();
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->samples.size(), 1u);
  EXPECT_EQ(StackNames(*p, p->samples[0]), (std::vector<std::string>{"[vdso]+0xb20"}));
}

TEST_F(NamingTest, SharedSyscallEntryIsNamedForTheTasksAbi) {
  // One body for both ABIs; kallsyms lists __ia32_ first.
  rec_.kallsyms =
      "ffffffff81000000 T _stext\n"
      "ffffffff81360190 T __ia32_sys_vfork\n"
      "ffffffff81360190 T __x64_sys_vfork\n"
      "ffffffff81360190 t __do_sys_vfork\n"
      "ffffffff81360220 T __x64_sys_clone\n";
  const uint64_t vfork = 0xffffffff81360194;
  formats::Sample s64 = Sample(kPid, {{kTargetMapping, main_.file_offset + 4}});
  s64.kernel_ips = {vfork};
  rec_.samples.push_back(s64);
  // A kernel thread: no user frames, taken as 64-bit.
  formats::Sample kthread = Sample(2, {});
  kthread.kernel_ips = {vfork};
  rec_.samples.push_back(kthread);

  const std::string lib32 = "/lib32/libc.so.6";
  const bool have_lib32 = std::filesystem::exists(lib32);
  if (have_lib32) {
    absl::StatusOr<std::string> id = symbolizer::ReadBuildId(lib32);
    ASSERT_TRUE(id.ok()) << id.status();
    rec_.mappings.push_back({.id = kLib32Mapping,
                             .pid = kPid32,
                             .time_ns = 0,
                             .start = 0xf7d00000,
                             .end = 0xf7e00000,
                             .pgoff = 0,
                             .prot = 5,
                             .build_id = *id,
                             .path = lib32});
    formats::Sample s32 = Sample(kPid32, {{kLib32Mapping, 0x100}});
    s32.kernel_ips = {vfork};
    rec_.samples.push_back(s32);
  }
  absl::StatusOr<formats::Profile> p = Build();
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->samples.size(), have_lib32 ? 3u : 2u);
  for (const formats::ProfileSample& s : p->samples) {
    std::vector<std::string> names = StackNames(*p, s);
    ASSERT_FALSE(names.empty());
    int64_t pid = 0;
    for (const auto& l : s.labels)
      if (l.key == "pid") pid = l.num;
    SCOPED_TRACE(pid);
    EXPECT_EQ(names[0], pid == kPid32 ? "__ia32_sys_vfork" : "__x64_sys_vfork");
  }
  if (!have_lib32) GTEST_SKIP() << "no 32-bit ELF (" << lib32 << ") to stand for a 32-bit task";
}

}  // namespace
}  // namespace ringprof::report
