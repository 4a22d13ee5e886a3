#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "symbolizer/symbolizer.h"

namespace ringprof::symbolizer {
namespace {

using ::testing::HasSubstr;

constexpr char kKallsyms[] =
    "ffffffff81000000 T _stext\n"
    "ffffffff81000100 t do_one_initcall\n"
    "ffffffff81000200 T startup_64\n"
    "ffffffff81000300 D some_data\n"
    "ffffffff81000400 W weak_func\n"
    "ffffffff81000400 t weak_func_alias\n"
    "ffffffff81000500 r rodata_thing\n"
    "\n"
    "ffffffffc0a01000 t ext4_fill_super\t[ext4]\n"
    "ffffffffc0a01800 T ext4_mount\t[ext4]\n"
    "ffffffffc0a02000 d ext4_data\t[ext4]\n";

TEST(KernelSymbolsTest, KeepsTextSymbolsOnly) {
  absl::StatusOr<KernelSymbols> syms = KernelSymbols::Parse(kKallsyms);
  ASSERT_TRUE(syms.ok()) << syms.status();
  // _stext, do_one_initcall, startup_64, weak_func (alias dropped), two in ext4.
  EXPECT_EQ(syms->size(), 6u);
}

TEST(KernelSymbolsTest, LookupReturnsContainingSymbol) {
  absl::StatusOr<KernelSymbols> syms = KernelSymbols::Parse(kKallsyms);
  ASSERT_TRUE(syms.ok()) << syms.status();
  auto name_of = [&](uint64_t addr) -> std::string {
    SymbolizedAddress r = syms->Lookup(addr);
    if (!r.status.ok() || r.frames.empty()) return absl::StrCat("<", r.status.message(), ">");
    return r.frames[0].function;
  };
  EXPECT_EQ(name_of(0xffffffff81000000), "_stext");
  EXPECT_EQ(name_of(0xffffffff810000ff), "_stext");
  EXPECT_EQ(name_of(0xffffffff81000150), "do_one_initcall");
  EXPECT_EQ(name_of(0xffffffff81000410), "weak_func");
  EXPECT_EQ(name_of(0xffffffffc0a01004), "ext4_fill_super [ext4]");
  EXPECT_EQ(name_of(0xffffffffc0a01900), "ext4_mount [ext4]");
  // Below every symbol, and inside data symbols: not found.
  EXPECT_TRUE(absl::IsNotFound(syms->Lookup(0xffffffff80000000).status));
  EXPECT_TRUE(absl::IsNotFound(syms->Lookup(0xffffffff81000310).status));
  EXPECT_TRUE(absl::IsNotFound(syms->Lookup(0xffffffffc0a02010).status));
}

// As /proc/kallsyms lists them on x86-64 6.18: syscalls without arguments
// have one body for both ABIs, so __ia32_ and __x64_ share an address (and
// kallsyms lists __ia32_ first); those with arguments have two.
constexpr char kSyscallKallsyms[] =
    "ffffffff81302f70 T __pfx___ia32_sys_rt_sigreturn\n"
    "ffffffff81302f70 T __pfx___x64_sys_rt_sigreturn\n"
    "ffffffff81302f80 T __ia32_sys_rt_sigreturn\n"
    "ffffffff81302f80 T __x64_sys_rt_sigreturn\n"
    "ffffffff81302f80 t __do_sys_rt_sigreturn\n"
    "ffffffff81360180 T __pfx___ia32_sys_vfork\n"
    "ffffffff81360180 T __pfx___x64_sys_vfork\n"
    "ffffffff81360190 T __ia32_sys_vfork\n"
    "ffffffff81360190 T __x64_sys_vfork\n"
    "ffffffff81360190 t __do_sys_vfork\n"
    "ffffffff81360220 T __pfx___x64_sys_clone\n"
    "ffffffff81360230 T __x64_sys_clone\n"
    "ffffffff81360260 T __pfx___ia32_sys_clone\n"
    "ffffffff81360270 T __ia32_sys_clone\n"
    "ffffffff81361000 T __memcpy\n"
    "ffffffff81361000 W memcpy\n"
    "ffffffffc0a01000 t __GI_helper\t[mod]\n"
    "ffffffffc0a01000 T helper\t[mod]\n"
    "ffffffffc0a02000 T _etext\n";

TEST(KernelSymbolsTest, SyscallEntryAliasFollowsTheTaskAbi) {
  absl::StatusOr<KernelSymbols> syms = KernelSymbols::Parse(kSyscallKallsyms);
  ASSERT_TRUE(syms.ok()) << syms.status();
  auto name = [&](uint64_t addr, TaskAbi abi = TaskAbi::k64) -> std::string {
    SymbolizedAddress r = syms->Lookup(addr, abi);
    return r.frames.empty() ? absl::StrCat("<", r.status.message(), ">") : r.frames[0].function;
  };
  EXPECT_EQ(name(0xffffffff81360190), "__x64_sys_vfork");
  EXPECT_EQ(name(0xffffffff813601a4), "__x64_sys_vfork");
  EXPECT_EQ(name(0xffffffff81302f84), "__x64_sys_rt_sigreturn");
  EXPECT_EQ(name(0xffffffff81360184), "__pfx___x64_sys_vfork");
  EXPECT_EQ(name(0xffffffff81360190, TaskAbi::k32), "__ia32_sys_vfork");
  EXPECT_EQ(name(0xffffffff81302f84, TaskAbi::k32), "__ia32_sys_rt_sigreturn");
  // Separate bodies keep their own names whatever the task.
  EXPECT_EQ(name(0xffffffff81360234, TaskAbi::k32), "__x64_sys_clone");
  EXPECT_EQ(name(0xffffffff81360274), "__ia32_sys_clone");
  // The other rules apply to kallsyms too, modules included.
  EXPECT_EQ(name(0xffffffff81361010), "memcpy");
  EXPECT_EQ(name(0xffffffffc0a01010), "helper [mod]");
}

TEST(KernelSymbolsTest, RealKallsymsSharedSyscallEntriesReadX64) {
  FILE* f = std::fopen("/proc/kallsyms", "r");
  if (f == nullptr) GTEST_SKIP() << "/proc/kallsyms is not readable";
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);
  absl::StatusOr<KernelSymbols> syms = KernelSymbols::Parse(text);
  if (!syms.ok()) GTEST_SKIP() << syms.status();
  // Every __x64_sys_X that shares its address with __ia32_sys_X.
  std::map<std::string, uint64_t> x64, ia32;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string addr, type, name;
    fields >> addr >> type >> name;
    if (name.rfind("__x64_sys_", 0) == 0) x64[name.substr(6)] = std::stoull(addr, nullptr, 16);
    if (name.rfind("__ia32_sys_", 0) == 0) ia32[name.substr(7)] = std::stoull(addr, nullptr, 16);
  }
  int shared = 0;
  for (const auto& [sys, addr] : x64) {
    auto it = ia32.find(sys);
    if (it == ia32.end() || it->second != addr || addr == 0) continue;
    ++shared;
    SymbolizedAddress r64 = syms->Lookup(addr);
    SymbolizedAddress r32 = syms->Lookup(addr, TaskAbi::k32);
    ASSERT_FALSE(r64.frames.empty() || r32.frames.empty()) << sys;
    EXPECT_EQ(r64.frames[0].function, "__x64_" + sys);
    EXPECT_EQ(r32.frames[0].function, "__ia32_" + sys);
  }
  if (shared == 0) GTEST_SKIP() << "no __x64_sys_/__ia32_sys_ pair shares an address here";
  RecordProperty("shared_syscall_entries", shared);
}

TEST(KernelSymbolsTest, UnprivilegedSnapshotIsAnError) {
  absl::StatusOr<KernelSymbols> syms = KernelSymbols::Parse(
      "0000000000000000 T _stext\n0000000000000000 t foo\n0000000000000000 T bar [mod]\n");
  ASSERT_FALSE(syms.ok());
  EXPECT_EQ(syms.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(syms.status().message(), HasSubstr("privilege"));
}

TEST(KernelSymbolsTest, MalformedLinesGiveOffset) {
  const std::string text = "ffffffff81000000 T _stext\nzzzz T bad\n";
  absl::StatusOr<KernelSymbols> syms = KernelSymbols::Parse(text);
  ASSERT_FALSE(syms.ok());
  EXPECT_EQ(syms.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(syms.status().message(), HasSubstr("line 2"));
  EXPECT_THAT(syms.status().message(), HasSubstr("byte offset 26"));

  for (const char* bad :
       {"ffffffff81000000 TT x\n", "ffffffff81000000 T\n", "1ffffffff81000000 T x\n",
        "ffffffff81000000 T x notamodule\n", "ffffffff81000000 T x [m] extra\n", "-1 T x\n"}) {
    EXPECT_FALSE(KernelSymbols::Parse(bad).ok()) << bad;
  }
}

TEST(KernelSymbolsTest, EmptyTextGivesEmptyTable) {
  absl::StatusOr<KernelSymbols> syms = KernelSymbols::Parse("");
  ASSERT_TRUE(syms.ok());
  EXPECT_EQ(syms->size(), 0u);
  EXPECT_FALSE(syms->Lookup(0x1000).status.ok());
}

TEST(KernelSymbolsTest, ParsesRealKallsymsWhenReadable) {
  FILE* f = std::fopen("/proc/kallsyms", "r");
  if (f == nullptr) GTEST_SKIP() << "/proc/kallsyms is not readable";
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);
  absl::StatusOr<KernelSymbols> syms = KernelSymbols::Parse(text);
  if (!syms.ok() && syms.status().code() == absl::StatusCode::kFailedPrecondition) {
    GTEST_SKIP() << "kallsyms addresses are hidden here: " << syms.status();
  }
  ASSERT_TRUE(syms.ok()) << syms.status();
  EXPECT_GT(syms->size(), 1000u);
}

// What a recording marked kallsyms=subset holds: for each recorded IP the
// line of its symbol and the line after it in address order, as pieces
// written at several flushes. Concatenated out of order, with repeats, they
// must name those IPs exactly as the whole text does.
TEST(KallsymsSubsetTest, PiecesOutOfOrderSymbolizeLikeTheWholeText) {
  const std::vector<std::string> pieces = {
      // do_one_initcall (+ its follower startup_64), and _stext for
      // 0x...0100 as a return address (looked up at 0x...00ff)
      "ffffffff81000100 t do_one_initcall\nffffffff81000200 T startup_64\n"
      "ffffffff81000000 T _stext\n",
      // ext4_fill_super + ext4_mount, then ext4_mount + ext4_data
      "ffffffffc0a01800 T ext4_mount\t[ext4]\nffffffffc0a02000 d ext4_data\t[ext4]\n"
      "ffffffffc0a01000 t ext4_fill_super\t[ext4]\n",
      // 0x...0310 lies in some_data: startup_64 and its follower bound it
      "ffffffff81000300 D some_data\nffffffff81000200 T startup_64\n",
      // weak_func (the global alias wins) and rodata_thing after it
      "ffffffff81000500 r rodata_thing\nffffffff81000400 W weak_func\n",
  };
  const std::vector<uint64_t> recorded = {
      0xffffffff81000150, 0xffffffff81000100, 0xffffffffc0a01004, 0xffffffffc0a01900,
      0xffffffffc0a01800, 0xffffffff81000310, 0xffffffff81000410, 0xffffffff81000200};
  absl::StatusOr<KernelSymbols> whole = KernelSymbols::Parse(kKallsyms);
  ASSERT_TRUE(whole.ok()) << whole.status();
  auto name = [](const SymbolizedAddress& r) {
    return r.status.ok() && !r.frames.empty() ? r.frames[0].function : std::string("<none>");
  };
  for (const std::vector<int>& order : std::vector<std::vector<int>>{
           {0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1, 2, 0}, {1, 1, 3, 0, 2, 3}}) {
    std::string text;
    for (int i : order) text += pieces[i];
    absl::StatusOr<KernelSymbols> subset = KernelSymbols::Parse(text, KallsymsSnapshot::kSubset);
    ASSERT_TRUE(subset.ok()) << subset.status();
    for (uint64_t ip : recorded) {
      // The leaf is looked up at ip, return addresses at ip - 1.
      for (uint64_t a : {ip, ip - 1}) {
        SymbolizedAddress w = whole->Lookup(a);
        SymbolizedAddress p = subset->Lookup(a);
        EXPECT_EQ(name(p), name(w)) << std::hex << a;
        EXPECT_EQ(p.status.ok(), w.status.ok()) << std::hex << a;
      }
    }
    EXPECT_EQ(name(subset->Lookup(0xffffffff81000410)), "weak_func");
    EXPECT_EQ(name(subset->Lookup(0xffffffffc0a01004)), "ext4_fill_super [ext4]");
  }
  // An address the pieces were not made for (in _stext, not stored) is
  // "not stored", not "no kernel symbol".
  absl::StatusOr<KernelSymbols> subset = KernelSymbols::Parse(pieces[1], KallsymsSnapshot::kSubset);
  ASSERT_TRUE(subset.ok());
  SymbolizedAddress r = subset->Lookup(0xffffffff81000050);
  EXPECT_TRUE(absl::IsNotFound(r.status));
  EXPECT_THAT(r.status.message(), HasSubstr("below every stored kallsyms text symbol"));
  EXPECT_THAT(r.status.message(), HasSubstr("kallsyms=subset"));
  EXPECT_THAT(whole->Lookup(0xffffffff81000050).frames[0].function, "_stext");
  r = KernelSymbols::Parse(pieces[2], KallsymsSnapshot::kSubset)->Lookup(0xffffffff81000310);
  EXPECT_THAT(r.status.message(), HasSubstr("in no stored text symbol"));
  // The whole text keeps its words.
  EXPECT_THAT(
      whole->Lookup(0xffffffff81000310).status.message(),
      ::testing::AllOf(HasSubstr("in no text symbol"), ::testing::Not(HasSubstr("subset"))));
}

}  // namespace
}  // namespace ringprof::symbolizer
