// libFuzzer target for the recorder's readers of kernel files: ELF notes
// (/sys/kernel/notes), /proc/modules and /proc/kallsyms. None may crash or
// read out of bounds, and every kallsyms piece the index hands out must
// parse with the reader's KernelSymbols::Parse, which would otherwise
// refuse the whole recording's snapshot. Built with -DRINGPROF_BUILD_FUZZ=ON
// and clang (docs/FORMAT.md, "Tests, fuzzing and benchmarks"):
//   build-fuzz/tests/collector/fuzz_kernel_symbols -max_total_time=120 -max_len=2048 \
//       NEW_CORPUS_DIR tests/collector/fuzz_corpus/kernel_symbols
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "collector/kernel_symbols.h"
#include "symbolizer/symbolizer.h"

namespace {

class Text : public ringprof::collector::KernelFiles {
 public:
  explicit Text(std::string_view t) : text_(t) {}
  absl::Status ReadKallsyms(const std::function<void(std::string_view)>& sink) override {
    for (size_t i = 0; i < text_.size(); i += 61) sink(text_.substr(i, 61));
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> ReadNotes() override { return std::string(text_); }
  absl::StatusOr<std::string> ReadModules() override { return std::string(text_); }
  absl::StatusOr<std::string> ReadModuleNotes(const std::string&) override {
    return std::string(text_);
  }

 private:
  std::string_view text_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)ringprof::collector::BuildIdFromNotes(text);
  size_t bad = 0;
  (void)ringprof::collector::ParseModules(text, &bad);
  Text files(text);
  (void)ringprof::collector::ReadKernelInfo(files, [](const std::string&) {});
  ringprof::collector::KallsymsIndex index(std::make_unique<Text>(text), [](const std::string&) {});
  // IPs from the input's own bytes, around where its symbols may be.
  std::vector<uint64_t> ips;
  for (size_t i = 0; i + 8 <= size && ips.size() < 64; i += 8) {
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v |= static_cast<uint64_t>(data[i + k]) << (8 * k);
    ips.push_back(v);
  }
  ips.push_back(0xffffffff81000010ull);
  std::string piece = index.TakeNewSymbolsFor(ips);
  if (!piece.empty() && !ringprof::symbolizer::KernelSymbols::Parse(
                             piece, ringprof::symbolizer::KallsymsSnapshot::kSubset)
                             .ok()) {
    std::abort();  // the reader would refuse what the recorder wrote
  }
  return 0;
}
