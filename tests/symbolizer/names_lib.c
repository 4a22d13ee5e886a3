// A shared library with the kinds of names that stand for one function in
// Debian's libc and ld.so (tests/symbolizer/names_test.cc):
//  - glibc's hidden_proto/hidden_def/strong_alias pattern: the function is
//    compiled under its hidden internal name (DWARF's linkage name is
//    "__GI_rp_alloc"), with a local alias, a global alias with more
//    underscores, and the public global "rp_alloc" at the same address;
//  - a public weak name next to a global one with underscores, as libc's
//    "write" (weak) and "__write";
//  - a function whose other global name is an old symbol version, as libc's
//    "free" and "cfree@GLIBC_2.2.5";
//  - size-0 code labels, as ld.so's "_start" and "_dl_start_user".
#include <stddef.h>

#if defined(__clang__)
// clang has no noclone attribute (and warns about unknown ones).
#define RP_NOINLINE __attribute__((noinline, used))
#else
// noclone: keep the symbol names free of GCC's .constprop/.isra suffixes.
#define RP_NOINLINE __attribute__((noinline, noclone, used))
#endif

// hidden_proto: the internal name is the assembler name.
int rp_internal_alloc(int n) __asm__("__GI_rp_alloc") __attribute__((visibility("hidden")));
RP_NOINLINE int rp_internal_alloc(int n) {
  int s = 0;
  for (int i = 0; i < n; ++i) s += i * n;
  return s;
}
// A local alias, a global one with underscores, the public one.
static __typeof(rp_internal_alloc) rp_local_alloc __attribute__((alias("__GI_rp_alloc"), used));
extern __typeof(rp_internal_alloc) __rp_libc_alloc __attribute__((alias("__GI_rp_alloc")));
extern __typeof(rp_internal_alloc) rp_alloc __attribute__((alias("__GI_rp_alloc")));

// Calls the function by its internal name, so that it can be inlined
// nowhere but is still called.
RP_NOINLINE int rp_call_alloc(int n) { return rp_internal_alloc(n) + 1; }

// A global with underscores and a weak public name.
RP_NOINLINE int __rp_write(int fd) { return fd * 3 + 1; }
extern __typeof(__rp_write) rp_write __attribute__((weak, alias("__rp_write")));

// "rp_free" and an old version "rp_cfree@RP_1.0", one function.
RP_NOINLINE int rp_free(int p) { return p ^ 0x5a; }
__asm__(".symver rp_free, rp_cfree@RP_1.0");

// A sized function with a label inside it: the function names it.
RP_NOINLINE int rp_with_inner_label(int x) {
  __asm__ volatile("nop\n\tnop\nrp_inner_label:\n\tnop" ::: "memory");
  return x + 7;
}

RP_NOINLINE int rp_label_target(int x) { return x * 5; }

// ld.so's entry: "_start" calls, "_dl_start_user" is where it returns to;
// neither has a size. A sized function follows.
__asm__(
    ".text\n"
    ".p2align 4\n"
    "rp_label_start:\n"
    "\tmov $1, %edi\n"
    "\tcall rp_label_target\n"
    "rp_label_user:\n"
    "\tnop\n"
    "\tnop\n"
    "\tret\n"
    ".p2align 6\n"
    ".globl rp_after_labels\n"
    ".type rp_after_labels, @function\n"
    "rp_after_labels:\n"
    "\tret\n"
    ".size rp_after_labels, .-rp_after_labels\n");

// An internal name that is also inlined: its inlined copies carry the
// DWARF linkage name "__GI_rp_square" too, and read "rp_square" as the
// out-of-line copy does.
extern int rp_square_internal(int n) __asm__("__GI_rp_square")
    __attribute__((visibility("hidden")));
inline __attribute__((always_inline)) int rp_square_internal(int n) { return n * n + 3; }
extern __typeof(rp_square_internal) rp_square __attribute__((alias("__GI_rp_square")));
RP_NOINLINE int rp_call_square(int n) { return rp_square_internal(n) * rp_square_internal(n + 1); }
