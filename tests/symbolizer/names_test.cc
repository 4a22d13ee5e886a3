// Which name a function gets when several share its address (symbol_names.h):
// the rules alone, a library built with glibc's kinds of aliases and
// labels (names_lib.c) in the ways Debian ships libraries (with .symtab;
// stripped to .dynsym; stripped with a separate debug file), and the
// system's own libc, ld.so and vDSO where they are there.
#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <link.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "absl/strings/escaping.h"
#include "symbolizer/symbol_names.h"
#include "symbolizer/symbolizer.h"
#include "tests/symbolizer/test_util.h"

namespace ringprof::symbolizer {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;
using testing::RunResult;
using testing::TempDir;

// ---- The rules ------------------------------------------------------------

std::string Choose(std::vector<AliasCandidate> c, TaskAbi abi = TaskAbi::k64) {
  return std::string(c[ChooseAlias(c, abi)].name);
}

constexpr SymbolBinding kLocal = SymbolBinding::kLocal;
constexpr SymbolBinding kGlobal = SymbolBinding::kGlobal;
constexpr SymbolBinding kWeak = SymbolBinding::kWeak;

TEST(ChooseAliasTest, GlibcAliases) {
  // Debian libc's debug file, in its .symtab order.
  EXPECT_EQ(Choose({{"__GI___libc_malloc", kLocal},
                    {"__malloc", kLocal},
                    {"__libc_malloc", kGlobal},
                    {"malloc", kGlobal}}),
            "malloc");
  EXPECT_EQ(Choose({{"__GI__dl_catch_exception", kLocal}, {"_dl_catch_exception", kGlobal}}),
            "_dl_catch_exception");
  EXPECT_EQ(Choose({{"__clock_gettime_2", kLocal},
                    {"__GI___clock_gettime", kLocal},
                    {"clock_gettime@@GLIBC_2.17", kGlobal},
                    {"__clock_gettime", kGlobal}}),
            "clock_gettime@@GLIBC_2.17");
  // A weak public name beats a global one with underscores ...
  EXPECT_EQ(Choose({{"__GI___write", kLocal},
                    {"__libc_write", kLocal},
                    {"__write", kWeak},
                    {"write", kWeak}}),
            "write");
  EXPECT_EQ(Choose({{"__fork", kGlobal}, {"fork", kWeak}, {"__libc_fork", kGlobal}}), "fork");
  // ... and an old symbol version loses to the default one, though longer.
  EXPECT_EQ(Choose({{"free", kGlobal}, {"__libc_free", kGlobal}, {"cfree@GLIBC_2.2.5", kGlobal}}),
            "free");
  EXPECT_EQ(Choose({{"free", kGlobal}, {"cfree", kGlobal, true, /*old_version=*/true}}), "free");
  // Equal otherwise: the longer name, as perf.
  EXPECT_EQ(
      Choose({{"__memcpy_avx_unaligned_erms", kLocal}, {"__memmove_avx_unaligned_erms", kLocal}}),
      "__memmove_avx_unaligned_erms");
  // A sized symbol over a label at the same address.
  EXPECT_EQ(Choose({{"entry_label", kGlobal, false}, {"__real_function", kLocal, true}}),
            "__real_function");
  // GCC's clones and local aliases lose to the plain name.
  EXPECT_EQ(Choose({{"foo.localalias", kLocal}, {"foo", kGlobal}}), "foo");
  EXPECT_EQ(Choose({{"foo.part.0", kGlobal}, {"foo_impl", kLocal}}), "foo_impl");
}

TEST(ChooseAliasTest, KernelSyscallEntries) {
  const std::vector<AliasCandidate> vfork = {
      {"__ia32_sys_vfork", kGlobal}, {"__x64_sys_vfork", kGlobal}, {"__do_sys_vfork", kLocal}};
  EXPECT_EQ(Choose(vfork, TaskAbi::k64), "__x64_sys_vfork");
  EXPECT_EQ(Choose(vfork, TaskAbi::k32), "__ia32_sys_vfork");
  const std::vector<AliasCandidate> pfx = {{"__pfx___ia32_sys_vfork", kGlobal},
                                           {"__pfx___x64_sys_vfork", kGlobal}};
  EXPECT_EQ(Choose(pfx, TaskAbi::k64), "__pfx___x64_sys_vfork");
  EXPECT_EQ(Choose(pfx, TaskAbi::k32), "__pfx___ia32_sys_vfork");
  EXPECT_EQ(
      Choose({{"__x32_compat_sys_x", kGlobal}, {"__ia32_compat_sys_x", kGlobal}}, TaskAbi::k32),
      "__ia32_compat_sys_x");
  EXPECT_EQ(Choose({{"__memcpy", kGlobal}, {"memcpy", kWeak}}), "memcpy");
  EXPECT_EQ(Choose({{"_stext", kGlobal}, {"_text", kGlobal}, {"startup_64", kGlobal}}),
            "startup_64");
}

TEST(ChooseAliasTest, StripSymbolVersion) {
  EXPECT_EQ(StripSymbolVersion("clock_gettime@@GLIBC_2.17"), "clock_gettime");
  EXPECT_EQ(StripSymbolVersion("cfree@GLIBC_2.2.5"), "cfree");
  EXPECT_EQ(StripSymbolVersion("malloc"), "malloc");
  EXPECT_EQ(StripSymbolVersion("@odd"), "@odd");
}

// ---- A library with aliases and labels -------------------------------------

// Defined symbols by name, from `nm` without -S (so that labels, which have
// no size, are listed too).
std::map<std::string, uint64_t> NmAddresses(const std::string& path, const char* flags = "") {
  std::map<std::string, uint64_t> out;
  std::vector<std::string> argv = {"nm", "--defined-only"};
  if (*flags != '\0') argv.push_back(flags);
  argv.push_back(path);
  const RunResult nm = RunCommand(argv);
  if (!nm.ok()) return out;
  std::istringstream in(nm.out);
  std::string addr, type, name;
  while (in >> addr >> type >> name) {
    // nm spells versions out ("clock_gettime@@LINUX_2.6").
    if (size_t at = name.find('@'); at != std::string::npos && at > 0) name.resize(at);
    out.emplace(name, std::stoull(addr, nullptr, 16));
  }
  return out;
}

// The physical function's name at `vaddr`, or "<reason>".
std::string NameAt(ElfSymbolizer& elf, uint64_t vaddr) {
  std::vector<SymbolizedAddress> r = elf.SymbolizeVaddrs({vaddr});
  if (r[0].frames.empty() || r[0].frames.back().function.empty()) {
    return "<" + std::string(r[0].status.ok() ? "no name" : r[0].status.message()) + ">";
  }
  return r[0].frames.back().function;
}

struct Variant {
  std::string name;
  std::string path;
  SymbolizerOptions options;
  bool symtab = true;  // .symtab (its own or its debug file's) is there
};

class NamesLibTest : public ::testing::Test {
 protected:
  void SetUp() override {
    syms_ = NmAddresses(NAMES_LIB);
    if (syms_.empty()) GTEST_SKIP() << "nm is not available";
    for (const char* s :
         {"rp_alloc", "__GI_rp_alloc", "rp_write", "rp_free", "rp_label_start", "rp_label_user",
          "rp_after_labels", "rp_inner_label", "rp_with_inner_label", "rp_call_square"}) {
      ASSERT_TRUE(syms_.contains(s)) << s << " missing in " << NAMES_LIB;
    }
    variants_.push_back({"with .symtab", NAMES_LIB, {}, true});
    if (!testing::HaveTool("objcopy")) return;
    // Debian's way: a stripped library (.dynsym and .gnu.version left), and
    // its .symtab and DWARF in /usr/lib/debug/.build-id/xx/yyyy.debug.
    const std::string stripped = dir_.path() + "/libnames.so";
    const std::string debug = dir_.path() + "/libnames.debug";
    ASSERT_TRUE(RunCommand({"objcopy", "--strip-all", NAMES_LIB, stripped}).ok());
    ASSERT_TRUE(RunCommand({"objcopy", "--only-keep-debug", NAMES_LIB, debug}).ok());
    SymbolizerOptions bare;
    bare.debug_dir = dir_.path() + "/no-debug";
    variants_.push_back({"stripped", stripped, bare, false});
    absl::StatusOr<std::string> id = ReadBuildId(stripped);
    ASSERT_TRUE(id.ok()) << id.status();
    const std::string hex = absl::BytesToHexString(*id);
    SymbolizerOptions with_debug;
    with_debug.debug_dir = dir_.path() + "/debug";
    const std::string target =
        with_debug.debug_dir + "/.build-id/" + hex.substr(0, 2) + "/" + hex.substr(2) + ".debug";
    fs::create_directories(fs::path(target).parent_path());
    fs::copy_file(debug, target);
    variants_.push_back({"stripped + debug file", stripped, with_debug, true});
  }

  std::unique_ptr<ElfSymbolizer> Open(const Variant& v) {
    auto elf = ElfSymbolizer::Open(v.path, v.options);
    EXPECT_TRUE(elf.ok()) << elf.status();
    return elf.ok() ? std::move(*elf) : nullptr;
  }

  TempDir dir_;
  std::map<std::string, uint64_t> syms_;
  std::vector<Variant> variants_;
};

TEST_F(NamesLibTest, AliasesAtOneAddressGetThePublicName) {
  // rp_alloc is compiled as __GI_rp_alloc (DWARF's linkage name) with a
  // local alias, __rp_libc_alloc and rp_alloc; rp_write is weak beside the
  // global __rp_write; rp_free has the old version rp_cfree@RP_1.0.
  ASSERT_EQ(syms_.at("rp_alloc"), syms_.at("__GI_rp_alloc"));
  for (const Variant& v : variants_) {
    SCOPED_TRACE(v.name);
    std::unique_ptr<ElfSymbolizer> elf = Open(v);
    ASSERT_NE(elf, nullptr);
    EXPECT_EQ(NameAt(*elf, syms_.at("rp_alloc")), "rp_alloc");
    EXPECT_EQ(NameAt(*elf, syms_.at("rp_alloc") + 4), "rp_alloc");
    EXPECT_EQ(NameAt(*elf, syms_.at("rp_write")), "rp_write");
    EXPECT_EQ(NameAt(*elf, syms_.at("rp_free")), "rp_free");
  }
}

TEST_F(NamesLibTest, PublicNamesOffKeepsDwarfsLinkageName) {
  // As binutils addr2line prints it.
  Variant v = variants_[0];
  v.options.public_names = false;
  std::unique_ptr<ElfSymbolizer> elf = Open(v);
  ASSERT_NE(elf, nullptr);
  EXPECT_EQ(NameAt(*elf, syms_.at("rp_alloc")), "__GI_rp_alloc");
}

TEST_F(NamesLibTest, InlinedCopiesOfAnInternalNameGetThePublicName) {
  // rp_square is compiled as __GI_rp_square and inlined into
  // rp_call_square: each inlined frame has DWARF linkage name __GI_rp_square.
  for (const Variant& v : variants_) {
    if (!v.symtab) continue;  // without DWARF there are no inline frames
    SCOPED_TRACE(v.name);
    std::unique_ptr<ElfSymbolizer> elf = Open(v);
    ASSERT_NE(elf, nullptr);
    std::vector<uint64_t> addrs;
    for (uint64_t a = syms_.at("rp_call_square"); a < syms_.at("rp_call_square") + 16; ++a)
      addrs.push_back(a);
    int inlined = 0;
    for (const SymbolizedAddress& r : elf->SymbolizeVaddrs(addrs)) {
      ASSERT_FALSE(r.frames.empty()) << r.status;
      EXPECT_EQ(r.frames.back().function, "rp_call_square");
      if (r.frames.size() < 2) continue;
      ++inlined;
      EXPECT_EQ(r.frames[0].function, "rp_square");
      EXPECT_EQ(r.frames[0].linkage_name, "rp_square");
    }
    EXPECT_GT(inlined, 0) << "rp_square was not inlined into rp_call_square";
  }
}

TEST_F(NamesLibTest, SizeZeroLabelsCoverUpToTheNextSymbol) {
  // Like ld.so's entry: rp_label_start: mov; call; rp_label_user: nop; nop;
  // ret; padding up to the 64-byte aligned rp_after_labels.
  const uint64_t start = syms_.at("rp_label_start");
  const uint64_t user = syms_.at("rp_label_user");
  const uint64_t after = syms_.at("rp_after_labels");
  ASSERT_LT(start, user);
  ASSERT_LT(user + 3, after);
  for (const Variant& v : variants_) {
    SCOPED_TRACE(v.name);
    std::unique_ptr<ElfSymbolizer> elf = Open(v);
    ASSERT_NE(elf, nullptr);
    EXPECT_EQ(NameAt(*elf, after), "rp_after_labels");
    // The label inside rp_with_inner_label never names anything.
    EXPECT_EQ(NameAt(*elf, syms_.at("rp_inner_label")), "rp_with_inner_label");
    // Past the last sized function: nothing, not a label far before it.
    EXPECT_THAT(NameAt(*elf, after + 1), ::testing::StartsWith("<"));
    if (!v.symtab) {
      // .dynsym has no labels: their code has no name (rather than one
      // borrowed from an unrelated symbol).
      EXPECT_THAT(NameAt(*elf, start), ::testing::StartsWith("<"));
      continue;
    }
    EXPECT_EQ(NameAt(*elf, start), "rp_label_start");
    // A return address after the call, looked up at address - 1.
    EXPECT_EQ(NameAt(*elf, user - 1), "rp_label_start");
    EXPECT_EQ(NameAt(*elf, user), "rp_label_user");
    for (uint64_t a = user; a < after; ++a) EXPECT_EQ(NameAt(*elf, a), "rp_label_user") << a;
  }
}

// ---- The system's own files -------------------------------------------------

struct Module {
  std::string path;
  uint64_t base = 0;  // load bias
};

// The loaded file that holds `address` and its load bias.
std::optional<Module> ModuleOf(const void* address) {
  Dl_info info;
  if (dladdr(address, &info) == 0 || info.dli_fname == nullptr) return std::nullopt;
  struct Found {
    const void* address;
    Module module;
    bool found = false;
  } found{address, {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* f = static_cast<Found*>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          const uint64_t lo = info->dlpi_addr + ph.p_vaddr;
          const auto a = reinterpret_cast<uint64_t>(f->address);
          if (ph.p_type == PT_LOAD && a >= lo && a < lo + ph.p_memsz) {
            f->module = {info->dlpi_name, info->dlpi_addr};
            f->found = true;
            return 1;
          }
        }
        return 0;
      },
      &found);
  if (!found.found) return std::nullopt;
  if (found.module.path.empty()) found.module.path = info.dli_fname;
  return found.module;
}

TEST(SystemNamesTest, LibcFunctionsHaveTheirPublicNames) {
  // Debian's libc is stripped (.dynsym only); with libc6-dbg installed its
  // DWARF names malloc "__GI___libc_malloc". Either way: the public name.
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  if (libc == nullptr) GTEST_SKIP() << "no libc.so.6";
  std::optional<Module> m = ModuleOf(dlsym(libc, "malloc"));
  ASSERT_TRUE(m.has_value());
  auto elf = ElfSymbolizer::Open(m->path, SymbolizerOptions{});
  ASSERT_TRUE(elf.ok()) << elf.status();
  for (const char* name : {"malloc", "free", "realloc", "read", "write", "clock_gettime"}) {
    void* f = dlsym(libc, name);
    ASSERT_NE(f, nullptr) << name;
    ASSERT_EQ(ModuleOf(f)->path, m->path);
    EXPECT_EQ(NameAt(**elf, reinterpret_cast<uint64_t>(f) - m->base), name);
  }
  dlclose(libc);
}

TEST(SystemNamesTest, LdSoEntryIsStart) {
  // ld.so's _start and _dl_start_user are size-0 labels in its debug
  // file's .symtab; the entry frame's return address lies after the call
  // in _start.
  const uint64_t base = getauxval(AT_BASE);
  if (base == 0) GTEST_SKIP() << "no program interpreter";
  std::optional<Module> m = ModuleOf(reinterpret_cast<const void*>(getauxval(AT_BASE)));
  if (!m.has_value()) GTEST_SKIP() << "ld.so not found";
  absl::StatusOr<std::string> id = ReadBuildId(m->path);
  ASSERT_TRUE(id.ok()) << id.status();
  const std::string hex = absl::BytesToHexString(*id);
  const std::string debug =
      "/usr/lib/debug/.build-id/" + hex.substr(0, 2) + "/" + hex.substr(2) + ".debug";
  const std::map<std::string, uint64_t> syms = NmAddresses(debug);
  if (!syms.contains("_start") || !syms.contains("_dl_start_user")) {
    GTEST_SKIP() << "no debug file with _start for " << m->path << " (libc6-dbg)";
  }
  auto elf = ElfSymbolizer::Open(m->path, SymbolizerOptions{});
  ASSERT_TRUE(elf.ok()) << elf.status();
  EXPECT_EQ(NameAt(**elf, syms.at("_start")), "_start");
  EXPECT_EQ(NameAt(**elf, syms.at("_dl_start_user") - 1), "_start");
  EXPECT_EQ(NameAt(**elf, syms.at("_dl_start_user")), "_dl_start_user");
}

TEST(SystemNamesTest, VdsoClockGettime) {
  // The vDSO has clock_gettime (weak) and __vdso_clock_gettime (global) at
  // one address; perf prints the latter, we print the name the program
  // called.
  const auto* ehdr = reinterpret_cast<const ElfW(Ehdr)*>(getauxval(AT_SYSINFO_EHDR));
  if (ehdr == nullptr) GTEST_SKIP() << "no vDSO";
  size_t size = 0;
  const auto* phdr =
      reinterpret_cast<const ElfW(Phdr)*>(reinterpret_cast<const char*>(ehdr) + ehdr->e_phoff);
  for (int i = 0; i < ehdr->e_phnum; ++i) {
    if (phdr[i].p_type == PT_LOAD)
      size = std::max<size_t>(size, phdr[i].p_offset + phdr[i].p_filesz);
  }
  size = std::max<size_t>(size, ehdr->e_shoff + size_t{ehdr->e_shnum} * ehdr->e_shentsize);
  TempDir dir;
  const std::string path = dir.path() + "/vdso.so";
  testing::WriteAll(path, std::vector<char>(reinterpret_cast<const char*>(ehdr),
                                            reinterpret_cast<const char*>(ehdr) + size));
  const std::map<std::string, uint64_t> syms = NmAddresses(path, "-D");
  if (!syms.contains("clock_gettime")) GTEST_SKIP() << "nm -D found no clock_gettime in the vDSO";
  auto elf = ElfSymbolizer::Open(path, SymbolizerOptions{});
  ASSERT_TRUE(elf.ok()) << elf.status();
  EXPECT_EQ(NameAt(**elf, syms.at("clock_gettime") + 8), "clock_gettime");
}

}  // namespace
}  // namespace ringprof::symbolizer
