#include "symbolizer/symbol_names.h"

#include <tuple>

namespace ringprof::symbolizer {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Strips the kernel's padding / CFI prefixes: `__pfx___x64_sys_vfork` is
// judged by the ABI rule as `__x64_sys_vfork`.
std::string_view WithoutStubPrefix(std::string_view name) {
  for (std::string_view p : {"__pfx_", "__cfi_"}) {
    if (StartsWith(name, p)) return name.substr(p.size());
  }
  return name;
}

bool IsInternal(std::string_view name) {
  for (std::string_view p : {"__GI_", "__pfx_", "__cfi_"}) {
    if (StartsWith(name, p)) return true;
  }
  const size_t at = name.find('@');
  if (at != std::string_view::npos) {
    // "f@VER" is an old version kept for binaries linked long ago;
    // "f@@VER" is the default one.
    if (name.substr(at, 2) != "@@") return true;
    name = name.substr(0, at);
  }
  for (std::string_view s :
       {".localalias", ".cold", ".part.", ".isra.", ".constprop.", ".lto_priv.", ".llvm."}) {
    if (name.find(s) != std::string_view::npos) return true;
  }
  return false;
}

bool WrongAbi(std::string_view name, TaskAbi abi) {
  name = WithoutStubPrefix(name);
  if (StartsWith(name, "__x32_")) return true;
  if (abi == TaskAbi::k64) return StartsWith(name, "__ia32_");
  return StartsWith(name, "__x64_");
}

size_t LeadingUnderscores(std::string_view name) {
  size_t n = 0;
  while (n < name.size() && name[n] == '_') ++n;
  return n;
}

// Larger is better; compared lexicographically.
auto Rank(const AliasCandidate& c, TaskAbi abi) {
  const std::string_view bare = StripSymbolVersion(c.name);
  return std::make_tuple(c.sized, !c.old_version && !IsInternal(c.name), !WrongAbi(c.name, abi),
                         c.binding != SymbolBinding::kLocal,
                         -static_cast<long>(LeadingUnderscores(bare)),
                         c.binding == SymbolBinding::kGlobal, bare.size());
}

}  // namespace

std::string_view StripSymbolVersion(std::string_view name) {
  const size_t at = name.find('@');
  return at == std::string_view::npos || at == 0 ? name : name.substr(0, at);
}

size_t ChooseAlias(absl::Span<const AliasCandidate> candidates, TaskAbi abi) {
  size_t best = 0;
  for (size_t i = 1; i < candidates.size(); ++i) {
    if (Rank(candidates[i], abi) > Rank(candidates[best], abi)) best = i;
  }
  return best;
}

}  // namespace ringprof::symbolizer
