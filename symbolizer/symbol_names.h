// Which of several names at one address a report shows.
//
// ELF symbol tables and kallsyms often hold several names for one
// function: glibc's `malloc`, `__libc_malloc`, `__malloc` and the hidden
// `__GI___libc_malloc`; the kernel's `__x64_sys_vfork`, `__ia32_sys_vfork`
// and `__do_sys_vfork`. Users read the public one, the name they called or
// the one perf prints. The rules (docs/REPORTS.md, "How functions are
// named"), first difference wins:
//
//   1. a symbol with a size over one without (ELF only);
//   2. not an internal alias: no `__GI_` (glibc's hidden aliases),
//      `__pfx_`/`__cfi_` (kernel padding and CFI stubs), no `.localalias`
//      / `.cold` / `.part.N` / `.isra.N` / `.constprop.N` / `.lto_priv.N`
//      suffix, no non-default symbol version (`cfree@GLIBC_2.2.5`);
//   3. the syscall entry of the task's ABI: `__x64_sys_*` for 64-bit
//      tasks, `__ia32_sys_*` (and `__ia32_compat_sys_*`) for 32-bit ones;
//      `__x32_*` for neither;
//   4. exported (global or weak) over local;
//   5. fewer leading underscores (`malloc` over `__libc_malloc`);
//   6. global over weak;
//   7. the longer name (perf's last rule: `__memmove_avx_unaligned_erms`
//      over `__memcpy_avx_unaligned_erms`);
//   8. the first in the table.
#ifndef RINGPROF_SYMBOLIZER_SYMBOL_NAMES_H_
#define RINGPROF_SYMBOLIZER_SYMBOL_NAMES_H_

#include <cstddef>
#include <string_view>

#include "absl/types/span.h"

namespace ringprof::symbolizer {

// The ABI of the task a kernel frame ran for: which syscall entry alias
// (`__x64_sys_*` or `__ia32_sys_*`) it went through.
enum class TaskAbi { k64, k32 };

enum class SymbolBinding { kLocal, kGlobal, kWeak };

struct AliasCandidate {
  // Without a kallsyms module suffix. A version suffix ("f@@V", "f@V") may
  // be left on; "f@V" then counts as an old version.
  std::string_view name;
  SymbolBinding binding = SymbolBinding::kGlobal;
  bool sized = true;  // ELF st_size > 0; kallsyms names are all "sized"
  // A non-default symbol version: "f@VER" in .symtab, or the hidden bit of
  // .gnu.version for .dynsym.
  bool old_version = false;
};

// Index of the name to show among `candidates` (not empty), by the rules
// above.
size_t ChooseAlias(absl::Span<const AliasCandidate> candidates, TaskAbi abi = TaskAbi::k64);

// "f@@VER" and "f@VER" -> "f"; other names unchanged. Versioned names
// appear in .symtab (the linker's names for .symver'd symbols).
std::string_view StripSymbolVersion(std::string_view name);

}  // namespace ringprof::symbolizer

#endif  // RINGPROF_SYMBOLIZER_SYMBOL_NAMES_H_
