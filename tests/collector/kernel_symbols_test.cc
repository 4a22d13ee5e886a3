// The recorder's kallsyms index and kernel facts (collector/kernel_symbols.h),
// fed kallsyms text through the KernelFiles interface; checked against the
// reader (symbolizer::KernelSymbols) on the whole text.
#include "collector/kernel_symbols.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "symbolizer/symbolizer.h"

namespace ringprof::collector {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class FakeKernel : public KernelFiles {
 public:
  // What ReadKallsyms streams, in blocks of `block` bytes (lines get cut).
  std::string kallsyms;
  absl::Status kallsyms_error;  // returned after streaming `kallsyms`
  size_t block = 7;
  int kallsyms_reads = 0;
  absl::StatusOr<std::string> notes = absl::NotFoundError("no notes");
  absl::StatusOr<std::string> modules = absl::NotFoundError("opening /proc/modules: No such file");
  std::map<std::string, std::string> module_notes;

  absl::Status ReadKallsyms(const std::function<void(std::string_view)>& sink) override {
    ++kallsyms_reads;
    for (size_t i = 0; i < kallsyms.size(); i += block) {
      sink(std::string_view(kallsyms).substr(i, block));
    }
    return kallsyms_error;
  }
  absl::StatusOr<std::string> ReadNotes() override { return notes; }
  absl::StatusOr<std::string> ReadModules() override { return modules; }
  absl::StatusOr<std::string> ReadModuleNotes(const std::string& name) override {
    auto it = module_notes.find(name);
    if (it == module_notes.end()) return absl::NotFoundError("no notes");
    return it->second;
  }
};

// Unsorted, as /proc/kallsyms is after the core kernel (modules, BPF):
// aliases, a data symbol after text, a module, a BPF program.
constexpr char kText[] =
    "ffffffff81000000 T _text\n"
    "ffffffff81000000 t _stext_local\n"
    "ffffffff81000000 T _stext\n"
    "ffffffff81000100 t do_one_initcall\n"
    "ffffffff81000200 T startup_64\n"
    "ffffffff81000300 D some_data\n"
    "ffffffff81000400 t weak_func_alias\n"
    "ffffffff81000400 W weak_func\n"
    "ffffffff81000500 T last_core\n"
    "ffffffffc0a01800 T ext4_mount\t[ext4]\n"
    "ffffffffc0a01000 t ext4_fill_super\t[ext4]\n"
    "ffffffffc0a02000 d ext4_data\t[ext4]\n"
    "ffffffffc0000bc8 t bpf_prog_7a95309ca69ddf27_on_switch\t[bpf]\n";

struct Harness {
  FakeKernel* kernel;
  std::vector<std::string> warnings;
  std::unique_ptr<KallsymsIndex> index;
};

std::unique_ptr<Harness> Make(std::string text, size_t block = 7) {
  auto h = std::make_unique<Harness>();
  auto k = std::make_unique<FakeKernel>();
  k->kallsyms = std::move(text);
  k->block = block;
  h->kernel = k.get();
  Harness* raw = h.get();
  h->index = std::make_unique<KallsymsIndex>(
      std::move(k), [raw](const std::string& m) { raw->warnings.push_back(m); });
  return h;
}

std::string Take(Harness& h, std::vector<uint64_t> ips) { return h.index->TakeNewSymbolsFor(ips); }

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

TEST(KallsymsIndexTest, SymbolAtTheBoundariesWithItsFollower) {
  auto h = Make(kText);
  // The first byte of do_one_initcall; ip - 1 is in the _stext alias group,
  // stored whole (the reader chooses among aliases per task ABI).
  EXPECT_THAT(Lines(Take(*h, {0xffffffff81000100})),
              ElementsAre("ffffffff81000100 t do_one_initcall", "ffffffff81000200 T startup_64",
                          "ffffffff81000000 T _text", "ffffffff81000000 T _stext",
                          "ffffffff81000000 t _stext_local"));
  // The last byte of do_one_initcall: nothing new (ip - 1 too).
  EXPECT_EQ(Take(*h, {0xffffffff810001ff}), "");
  // The last byte of startup_64: its follower, the data symbol, bounds it.
  EXPECT_THAT(Lines(Take(*h, {0xffffffff810002ff})), ElementsAre("ffffffff81000300 D some_data"));
  // Inside the data symbol: the text symbol below and its follower, which
  // are stored already.
  EXPECT_EQ(Take(*h, {0xffffffff81000310}), "");
  // The weak alias group, both of its text lines.
  EXPECT_THAT(Lines(Take(*h, {0xffffffff81000401})),
              ElementsAre("ffffffff81000400 W weak_func", "ffffffff81000400 t weak_func_alias",
                          "ffffffff81000500 T last_core"));
  EXPECT_EQ(h->index->symbols(), 13u);  // every line, aliases included
  EXPECT_THAT(h->warnings, IsEmpty());
}

TEST(KallsymsIndexTest, ModulesAndBpfProgramsKeepTheirTag) {
  auto h = Make(kText);
  EXPECT_THAT(Lines(Take(*h, {0xffffffffc0a01004})),
              ElementsAre("ffffffffc0a01000 t ext4_fill_super\t[ext4]",
                          "ffffffffc0a01800 T ext4_mount\t[ext4]"));
  // The last text symbol of the module: bounded by its data.
  EXPECT_THAT(Lines(Take(*h, {0xffffffffc0a01900})),
              ElementsAre("ffffffffc0a02000 d ext4_data\t[ext4]"));
  // A BPF program: its follower is the first symbol above it (ext4 here).
  EXPECT_THAT(Lines(Take(*h, {0xffffffffc0000bd0})),
              ElementsAre("ffffffffc0000bc8 t bpf_prog_7a95309ca69ddf27_on_switch\t[bpf]"));
}

TEST(KallsymsIndexTest, NoRepeatsAcrossCallsAndSamples) {
  auto h = Make(kText);
  std::string all = Take(*h, {0xffffffff81000150, 0xffffffff81000250});
  all += Take(*h, {0xffffffff81000250, 0xffffffff81000150});
  formats::Sample s1, s2;
  s1.kernel_ips = {0xffffffff81000150, 0xffffffff81000510};
  s2.kernel_ips = {0xffffffff81000510, 0xffffffff81000150};
  all += h->index->TakeNewSymbolsFor(std::vector<formats::Sample>{s1, s2});
  std::vector<std::string> lines = Lines(all);
  std::set<std::string> unique(lines.begin(), lines.end());
  EXPECT_EQ(unique.size(), lines.size()) << all;
  // last_core's follower is the first symbol above the core kernel.
  EXPECT_THAT(lines,
              ElementsAre("ffffffff81000100 t do_one_initcall", "ffffffff81000200 T startup_64",
                          "ffffffff81000300 D some_data", "ffffffff81000500 T last_core",
                          "ffffffffc0000bc8 t bpf_prog_7a95309ca69ddf27_on_switch\t[bpf]"));
  EXPECT_EQ(h->index->lines_stored(), 5u);
}

TEST(KallsymsIndexTest, ReadsKallsymsOnlyWhenAKernelFrameComes) {
  auto h = Make(kText);
  // No kernel frames: markers (PERF_CONTEXT_KERNEL, ...) and 0 are not IPs.
  EXPECT_EQ(Take(*h, {0, static_cast<uint64_t>(-128), static_cast<uint64_t>(-512)}), "");
  EXPECT_EQ(h->index->TakeNewSymbolsFor(std::vector<formats::Sample>(3)), "");
  EXPECT_EQ(h->kernel->kallsyms_reads, 0);
  EXPECT_FALSE(h->index->loaded());
  EXPECT_NE(Take(*h, {static_cast<uint64_t>(-128), 0xffffffff81000150}), "");
  EXPECT_NE(Take(*h, {0xffffffff81000450}), "");
  EXPECT_EQ(h->kernel->kallsyms_reads, 1);  // once
  EXPECT_TRUE(h->index->loaded());
}

TEST(KallsymsIndexTest, BelowAndAboveEverySymbol) {
  auto h = Make(kText);
  EXPECT_EQ(Take(*h, {0xffffffff80000000}), "");
  EXPECT_EQ(Take(*h, {0xffffffff81000000}),
            "ffffffff81000000 T _text\nffffffff81000000 T _stext\nffffffff81000000 t "
            "_stext_local\nffffffff81000100 t do_one_initcall\n");
  // The last symbol of all has no follower: it ends nowhere, for the
  // reader too.
  auto top = Make("ffffffff81000000 T a\nffffffff81000100 T z\n");
  EXPECT_EQ(Take(*top, {0xffffffff81000200}), "ffffffff81000100 T z\n");
}

TEST(KallsymsIndexTest, MissingKallsymsWarnsOnceAndRecordingGoesOn) {
  auto h = Make("");
  h->kernel->kallsyms_error = absl::NotFoundError("opening /proc/kallsyms: No such file");
  EXPECT_EQ(Take(*h, {0xffffffff81000150}), "");
  EXPECT_EQ(Take(*h, {0xffffffff81000250}), "");
  ASSERT_EQ(h->warnings.size(), 1u);
  EXPECT_THAT(h->warnings[0], HasSubstr("opening /proc/kallsyms"));
  EXPECT_THAT(h->warnings[0], HasSubstr("kernel frames will not be symbolized"));
  EXPECT_EQ(h->kernel->kallsyms_reads, 1);
  EXPECT_FALSE(h->index->Load().ok());

  // Cut off midway: what was read is not trusted.
  auto cut = Make(kText);
  cut->kernel->kallsyms_error = absl::DataLossError("reading /proc/kallsyms: I/O error");
  EXPECT_EQ(Take(*cut, {0xffffffff81000150}), "");
  EXPECT_EQ(cut->warnings.size(), 1u);

  auto empty = Make("\n\n");
  EXPECT_EQ(Take(*empty, {0xffffffff81000150}), "");
  ASSERT_EQ(empty->warnings.size(), 1u);
  EXPECT_THAT(empty->warnings[0], HasSubstr("no symbols"));
}

TEST(KallsymsIndexTest, HiddenAddressesWarnAboutPrivilege) {
  auto h = Make("0000000000000000 T _stext\n0000000000000000 t foo\n0000000000000000 T m\t[m]\n");
  EXPECT_EQ(Take(*h, {0xffffffff81000150}), "");
  ASSERT_EQ(h->warnings.size(), 1u);
  EXPECT_THAT(h->warnings[0], HasSubstr("kptr_restrict"));
}

TEST(KallsymsIndexTest, MalformedLinesAreSkippedAndTheRestWorks) {
  // Every line the reader would refuse (it would then refuse the whole
  // snapshot) is left out; a very long line too.
  const std::string text =
      absl::StrCat("ffffffff81000000 T _stext\n", "zzzz T bad_hex\n",
                   "ffffffff81000080 TT two_letters\n", "ffffffff81000090 T\n",
                   "1ffffffff81000000 T seventeen_digits\n", "ffffffff810000a0 T x notamodule\n",
                   "ffffffff810000b0 T x [m] extra\n", "-1 T minus\n", "ffffffff810000c0 T ",
                   std::string(300 << 10, 'n'), "\n", "ffffffff81000100 t do_one_initcall\n");
  auto h = Make(text, 4096);
  std::string got = Take(*h, {0xffffffff81000050});
  EXPECT_EQ(got, "ffffffff81000000 T _stext\nffffffff81000100 t do_one_initcall\n");
  EXPECT_EQ(h->index->lines_skipped(), 8u);
  ASSERT_EQ(h->warnings.size(), 1u);
  EXPECT_THAT(h->warnings[0], HasSubstr("8 lines of /proc/kallsyms did not parse"));
  EXPECT_TRUE(symbolizer::KernelSymbols::Parse(got).ok());
}

TEST(KallsymsIndexTest, CrLfAndTrailingSpacesAreNotKept) {
  auto h = Make("ffffffff81000000 T _stext  \r\nffffffff81000100\tt\tnext\t[mod]\t\n", 3);
  EXPECT_EQ(Take(*h, {0xffffffff81000010}),
            "ffffffff81000000 T _stext\nffffffff81000100 t\tnext\t[mod]\n");
}

// Any byte but a newline may be in a name: the reader takes it as is.
TEST(KallsymsIndexTest, NulBytesInNamesAreKept) {
  const std::string text("ffffffff81000000 T a\0b\nffffffff81000100 t c\n", 44);
  auto h = Make(text, 5);
  const std::string got = Take(*h, {0xffffffff81000004});
  EXPECT_EQ(got, std::string("ffffffff81000000 T a\0b\nffffffff81000100 t c\n", 44));
  EXPECT_TRUE(symbolizer::KernelSymbols::Parse(got).ok());
}

// A kallsyms like a real one: runs of text, holes, data, aliases, modules
// out of order. For random IPs, every piece the index hands out, shuffled
// and repeated, must make the reader name ip and ip - 1 as the whole text
// does.
std::string SyntheticKallsyms(std::mt19937_64& rng) {
  std::vector<std::string> lines;
  uint64_t a = 0xffffffff81000000ull;
  for (int i = 0; i < 3000; ++i) {
    const int kind = static_cast<int>(rng() % 10);
    const char type = kind < 5 ? 't' : kind < 8 ? 'T' : kind == 8 ? 'd' : 'W';
    lines.push_back(absl::StrFormat("%016x %c sym_%d", a, type, i));
    if (rng() % 17 == 0) lines.push_back(absl::StrFormat("%016x t alias_%d", a, i));
    a += 1 + rng() % 0x400;
  }
  a = 0xffffffffc0200000ull;
  for (int m = 0; m < 5; ++m) {
    for (int i = 0; i < 40; ++i) {
      lines.push_back(
          absl::StrFormat("%016x %c mod%d_sym_%d\t[mod%d]", a, rng() % 5 ? 't' : 'b', m, i, m));
      a += 1 + rng() % 0x200;
    }
    a += 0x10000;
  }
  std::shuffle(lines.begin() + 2000, lines.end(), rng);  // modules are not sorted
  std::string text;
  for (const std::string& l : lines) absl::StrAppend(&text, l, "\n");
  return text;
}

TEST(KallsymsIndexTest, PiecesSymbolizeLikeTheWholeText) {
  std::mt19937_64 rng(42);
  const std::string text = SyntheticKallsyms(rng);
  absl::StatusOr<symbolizer::KernelSymbols> whole = symbolizer::KernelSymbols::Parse(text);
  ASSERT_TRUE(whole.ok()) << whole.status();
  auto h = Make(text, 4093);
  std::vector<std::string> pieces;
  std::vector<uint64_t> ips;
  for (int flush = 0; flush < 40; ++flush) {
    std::vector<uint64_t> batch;
    for (int i = 0; i < 10; ++i) {
      uint64_t ip = rng() % 3 == 0 ? 0xffffffffc0200000ull + rng() % 0x60000
                                   : 0xffffffff81000000ull + rng() % 0x180000;
      if (rng() % 5 == 0 && !ips.empty()) ip = ips[rng() % ips.size()];  // seen before
      batch.push_back(ip);
    }
    ips.insert(ips.end(), batch.begin(), batch.end());
    pieces.push_back(h->index->TakeNewSymbolsFor(batch));
  }
  EXPECT_THAT(h->warnings, IsEmpty());
  pieces.push_back(pieces[3]);  // repeated lines across pieces
  std::shuffle(pieces.begin(), pieces.end(), rng);
  std::string subset_text;
  for (const std::string& p : pieces) subset_text += p;
  EXPECT_LT(subset_text.size(), text.size() / 2);
  absl::StatusOr<symbolizer::KernelSymbols> subset =
      symbolizer::KernelSymbols::Parse(subset_text, symbolizer::KallsymsSnapshot::kSubset);
  ASSERT_TRUE(subset.ok()) << subset.status();
  auto name = [](const symbolizer::SymbolizedAddress& r) {
    return r.status.ok() && !r.frames.empty() ? r.frames[0].function : std::string("<none>");
  };
  size_t named = 0, unnamed = 0;
  for (uint64_t ip : ips) {
    for (uint64_t a : {ip, ip - 1}) {
      const std::string want = name(whole->Lookup(a));
      ASSERT_EQ(name(subset->Lookup(a)), want) << std::hex << a;
      (want == "<none>" ? unnamed : named)++;
    }
  }
  EXPECT_GT(named, 400u);
  EXPECT_GT(unnamed, 10u);  // IPs in data symbols and between modules
}

TEST(KallsymsIndexTest, RealKallsymsWhenReadable) {
  FILE* f = std::fopen("/proc/kallsyms", "r");
  if (f == nullptr) GTEST_SKIP() << "/proc/kallsyms is not readable";
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);
  absl::StatusOr<symbolizer::KernelSymbols> whole = symbolizer::KernelSymbols::Parse(text);
  if (!whole.ok()) GTEST_SKIP() << "kallsyms is not usable here: " << whole.status();
  std::vector<std::string> warnings;
  KallsymsIndex index(LiveKernelFiles(), [&](const std::string& m) { warnings.push_back(m); });
  ASSERT_TRUE(index.Load().ok()) << (warnings.empty() ? "" : warnings[0]);
  EXPECT_THAT(warnings, IsEmpty());
  EXPECT_GT(index.symbols(), 1000u);
  // The index is smaller than the text it replaces.
  EXPECT_LT(index.memory_bytes(), text.size());
  // Addresses of real symbols and a little past them.
  std::vector<uint64_t> ips;
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  for (size_t i = 0; i < lines.size(); i += 97) {
    uint64_t addr = 0;
    if (!absl::SimpleHexAtoi(lines[i].substr(0, 16), &addr) || addr == 0) continue;
    for (uint64_t d : {0, 1, 5, 64}) ips.push_back(addr + d);
  }
  std::string subset_text = index.TakeNewSymbolsFor(ips);
  EXPECT_LT(subset_text.size(), text.size() / 4);
  absl::StatusOr<symbolizer::KernelSymbols> subset =
      symbolizer::KernelSymbols::Parse(subset_text, symbolizer::KallsymsSnapshot::kSubset);
  ASSERT_TRUE(subset.ok()) << subset.status();
  for (uint64_t ip : ips) {
    for (uint64_t a : {ip, ip - 1}) {
      symbolizer::SymbolizedAddress w = whole->Lookup(a), p = subset->Lookup(a);
      ASSERT_EQ(p.status.ok(), w.status.ok()) << std::hex << a;
      if (w.status.ok()) {
        ASSERT_EQ(p.frames[0].function, w.frames[0].function) << std::hex << a;
      }
    }
  }
}

// /sys/kernel/notes as our VM has it: GNU build-id, then Linux and Xen notes.
std::string Note(uint32_t type, std::string_view name, std::string_view desc) {
  std::string out;
  auto u32 = [&](uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  u32(static_cast<uint32_t>(name.size()));
  u32(static_cast<uint32_t>(desc.size()));
  u32(type);
  out.append(name);
  out.append((4 - name.size() % 4) % 4, '\0');
  out.append(desc);
  out.append((4 - desc.size() % 4) % 4, '\0');
  return out;
}

TEST(KernelInfoTest, BuildIdFromNotes) {
  const std::string id =
      "\x32\xa7\xf3\xba\xce\xe6\xbf\x69\xda\x94\xf4\x97\xa8\xa0\x76\x48\x3b\xae"
      "\xa2\x0e";
  const std::string linux_note = Note(0x101, std::string("Linux\0", 6), "\x01");
  const std::string xen = Note(0x12, std::string("Xen\0", 4), std::string("\x00\x2f\x58\x03", 4));
  EXPECT_EQ(*BuildIdFromNotes(Note(3, std::string("GNU\0", 4), id) + linux_note), id);
  EXPECT_EQ(*BuildIdFromNotes(linux_note + xen + Note(3, std::string("GNU\0", 4), id)), id);
  // Another owner's type 3 is not a build-id.
  EXPECT_TRUE(absl::IsNotFound(BuildIdFromNotes(Note(3, std::string("Xen\0", 4), id)).status()));
  EXPECT_TRUE(absl::IsNotFound(BuildIdFromNotes("").status()));
  EXPECT_TRUE(absl::IsNotFound(BuildIdFromNotes("short").status()));
  // A note that claims more bytes than there are.
  std::string cut = Note(3, std::string("GNU\0", 4), id);
  cut.resize(cut.size() - 3);
  EXPECT_TRUE(absl::IsInvalidArgument(BuildIdFromNotes(cut).status()));
  std::string huge = Note(3, std::string("GNU\0", 4), id);
  huge[4] = huge[5] = huge[6] = huge[7] = '\xff';  // descsz 4 GiB
  EXPECT_TRUE(absl::IsInvalidArgument(BuildIdFromNotes(huge).status()));
}

TEST(KernelInfoTest, ParseModules) {
  size_t bad = 0;
  std::vector<formats::KernelModule> m = ParseModules(
      "nf_tables 356352 0 - Live 0xffffffffc0a00000\n"
      "ext4 1015808 2 mbcache,jbd2, Live 0xffffffffc0200000 (E)\n"
      "\n"
      "broken 12 0 - Live\n"
      "nosize x 0 - Live 0xffffffffc0000000\n"
      "hidden 4096 0 - Live 0x0000000000000000\n",
      &bad);
  EXPECT_EQ(bad, 2u);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0], (formats::KernelModule{"nf_tables", 356352, 0xffffffffc0a00000ull, ""}));
  EXPECT_EQ(m[1], (formats::KernelModule{"ext4", 1015808, 0xffffffffc0200000ull, ""}));
  EXPECT_EQ(m[2].address, 0u);  // unprivileged readers see 0
}

TEST(KernelInfoTest, ReadKernelInfoStoresWhatItCanRead) {
  const std::string id(20, '\x5a');
  FakeKernel k;
  k.notes = Note(3, std::string("GNU\0", 4), id);
  k.modules = std::string(
      "nf_tables 356352 0 - Live 0xffffffffc0a00000\next4 1015808 2 - Live 0xffffffffc0200000\n");
  k.module_notes["ext4"] = Note(3, std::string("GNU\0", 4), std::string(20, '\x11'));
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& m) { warnings.push_back(m); };
  formats::KernelInfo info = ReadKernelInfo(k, warn);
  EXPECT_EQ(info.build_id, id);
  EXPECT_TRUE(info.modules_known);
  ASSERT_EQ(info.modules.size(), 2u);
  EXPECT_EQ(info.modules[0].build_id, "");
  EXPECT_EQ(info.modules[1].build_id, std::string(20, '\x11'));
  EXPECT_THAT(warnings, IsEmpty());

  // A kernel without module support has no /proc/modules: an empty list,
  // known. Unreadable notes: no build-id, with a warning.
  FakeKernel bare;
  bare.notes = absl::PermissionDeniedError("opening /sys/kernel/notes: Permission denied");
  info = ReadKernelInfo(bare, warn);
  EXPECT_EQ(info.build_id, "");
  EXPECT_TRUE(info.modules_known);
  EXPECT_THAT(info.modules, IsEmpty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("build-id"));

  FakeKernel denied;
  denied.notes = k.notes;
  denied.modules = absl::PermissionDeniedError("opening /proc/modules: Permission denied");
  warnings.clear();
  info = ReadKernelInfo(denied, warn);
  EXPECT_FALSE(info.modules_known);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("module list is not stored"));
}

TEST(KernelInfoTest, LiveKernelWhenReadable) {
  std::vector<std::string> warnings;
  formats::KernelInfo info =
      ReadKernelInfo(*LiveKernelFiles(), [&](const std::string& m) { warnings.push_back(m); });
  if (access("/sys/kernel/notes", R_OK) != 0) GTEST_SKIP() << "no /sys/kernel/notes";
  EXPECT_FALSE(info.build_id.empty()) << (warnings.empty() ? "" : warnings[0]);
  if (access("/proc/modules", F_OK) != 0) {
    EXPECT_TRUE(info.modules.empty());
  }
}

}  // namespace
}  // namespace ringprof::collector
