#include <algorithm>
#include <cstdint>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "symbolizer/symbol_names.h"
#include "symbolizer/symbolizer.h"

namespace ringprof::symbolizer {
namespace {

bool IsText(char type) { return type == 't' || type == 'T' || type == 'w' || type == 'W'; }

// Splits off the next whitespace-delimited field of `rest`.
std::string_view NextField(std::string_view& rest) {
  size_t start = 0;
  while (start < rest.size() && absl::ascii_isspace(static_cast<unsigned char>(rest[start])))
    ++start;
  size_t end = start;
  while (end < rest.size() && !absl::ascii_isspace(static_cast<unsigned char>(rest[end]))) ++end;
  std::string_view field = rest.substr(start, end - start);
  rest.remove_prefix(end);
  return field;
}

struct Entry {
  uint64_t addr;
  bool text;
  SymbolBinding binding;
  std::string name;    // as shown: "func" or "func [module]"
  size_t name_length;  // of "func"
};

SymbolBinding BindingOf(char type) {
  if (type == 'W' || type == 'w' || type == 'V' || type == 'v') return SymbolBinding::kWeak;
  return absl::ascii_isupper(static_cast<unsigned char>(type)) ? SymbolBinding::kGlobal
                                                               : SymbolBinding::kLocal;
}

}  // namespace

absl::StatusOr<KernelSymbols> KernelSymbols::Parse(std::string_view text,
                                                   KallsymsSnapshot snapshot) {
  std::vector<Entry> entries;
  size_t offset = 0;
  size_t line_no = 0;
  size_t nonzero = 0;
  while (offset < text.size()) {
    ++line_no;
    size_t eol = text.find('\n', offset);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(offset, eol - offset);
    const size_t line_offset = offset;
    offset = eol + 1;
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(
          absl::StrFormat("kallsyms line %d (byte offset %d): %s", line_no, line_offset, why));
    };
    std::string_view rest = line;
    std::string_view addr_field = NextField(rest);
    if (addr_field.empty()) continue;  // blank line
    std::string_view type_field = NextField(rest);
    std::string_view name = NextField(rest);
    std::string_view module = NextField(rest);
    if (type_field.size() != 1) return bad("expected a one-letter symbol type");
    if (name.empty()) return bad("missing symbol name");
    if (addr_field.size() > 16) return bad("address longer than 16 hex digits");
    uint64_t addr = 0;
    if (!absl::SimpleHexAtoi(absl::string_view(addr_field.data(), addr_field.size()), &addr) ||
        addr_field.front() == '-' || addr_field.front() == '+') {
      return bad(absl::StrCat("bad hex address '", std::string(addr_field), "'"));
    }
    if (!module.empty() && (module.size() < 3 || module.front() != '[' || module.back() != ']')) {
      return bad(absl::StrCat("expected [module], got '", std::string(module), "'"));
    }
    if (!NextField(rest).empty()) return bad("trailing fields");
    if (addr != 0) ++nonzero;
    const char type = type_field[0];
    Entry e{addr, IsText(type), BindingOf(type), std::string(name), name.size()};
    if (!module.empty()) absl::StrAppend(&e.name, " ", std::string(module));
    entries.push_back(std::move(e));
  }
  if (!entries.empty() && nonzero == 0) {
    return absl::FailedPreconditionError(
        "every kallsyms address is 0: the snapshot was read without privilege "
        "(kernel.kptr_restrict); record as root or with CAP_SYSLOG");
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.addr != b.addr) return a.addr < b.addr;
    return a.text && !b.text;
  });
  KernelSymbols out;
  out.subset_ = snapshot == KallsymsSnapshot::kSubset;
  std::vector<AliasCandidate> candidates;
  for (size_t i = 0; i < entries.size();) {
    size_t j = i;
    while (j < entries.size() && entries[j].addr == entries[i].addr) ++j;
    // Text symbols sort first within an address.
    size_t text_end = i;
    while (text_end < j && entries[text_end].text) ++text_end;
    if (text_end > i && entries[i].addr != 0) {
      candidates.clear();
      for (size_t k = i; k < text_end; ++k) {
        const Entry& e = entries[k];
        candidates.push_back({std::string_view(e.name).substr(0, e.name_length), e.binding});
      }
      const size_t best64 = i + ChooseAlias(candidates, TaskAbi::k64);
      const size_t best32 = i + ChooseAlias(candidates, TaskAbi::k32);
      if (best32 != best64) out.names32_.emplace(out.addrs_.size(), entries[best32].name);
      out.addrs_.push_back(entries[i].addr);
      out.names_.push_back(std::move(entries[best64].name));
      out.ends_.push_back(j < entries.size() ? entries[j].addr
                                             : std::numeric_limits<uint64_t>::max());
    }
    i = j;
  }
  return out;
}

SymbolizedAddress KernelSymbols::Lookup(uint64_t address, TaskAbi abi) const {
  SymbolizedAddress result;
  auto it = std::upper_bound(addrs_.begin(), addrs_.end(), address);
  // A subset holds the symbols of the recorded frames only: an address in
  // none of them may well be in a symbol that was not stored.
  constexpr char kNotStored[] =
      "; the recording stores only the kernel symbols of its recorded frames (kallsyms=subset)";
  if (it == addrs_.begin()) {
    result.status = absl::NotFoundError(
        subset_
            ? absl::StrFormat("kernel address 0x%x is below every stored kallsyms text "
                              "symbol%s",
                              address, kNotStored)
            : absl::StrFormat("kernel address 0x%x is below every kallsyms text symbol", address));
    return result;
  }
  const size_t i = (it - addrs_.begin()) - 1;
  if (address >= ends_[i]) {
    result.status = absl::NotFoundError(
        subset_ ? absl::StrFormat("kernel address 0x%x is past %s and in no stored text symbol%s",
                                  address, names_[i], kNotStored)
                : absl::StrFormat("kernel address 0x%x is past %s and in no text symbol", address,
                                  names_[i]));
    return result;
  }
  SourceFrame frame;
  frame.function = names_[i];
  if (abi == TaskAbi::k32) {
    if (auto it = names32_.find(i); it != names32_.end()) frame.function = it->second;
  }
  result.frames.push_back(std::move(frame));
  return result;
}

}  // namespace ringprof::symbolizer
