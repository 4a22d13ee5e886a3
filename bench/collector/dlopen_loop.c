/* Workload of bench/collector/real_programs.py: dlopen()s and dlclose()s a
 * set of shared libraries (Debian's, by default) LOOPS times, so that the
 * profiler sees tens of thousands of mappings come and go in one process.
 *
 *   bench_dlopen_loop LOOPS [LIB...]
 *     default LIBs: libz.so.1 libm.so.6 libcrypt.so.1 libexpat.so.1
 *                   libbz2.so.1.0 libuuid.so.1
 *
 * Each round opens every library (RTLD_NOW, so relocation runs), looks up
 * one symbol in each, then closes them all in reverse order; the program is
 * linked against none of them (and libm is not linked either), so each
 * dlclose() unmaps the library and the next dlopen() maps it again. Fails
 * when a library cannot be opened or stays loaded after dlclose(). Built
 * like Debian's binaries: -O2, no frame pointers. Not product code. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static const char* const kDefaultLibs[] = {"libz.so.1",     "libm.so.6",     "libcrypt.so.1",
                                           "libexpat.so.1", "libbz2.so.1.0", "libuuid.so.1"};

volatile unsigned long sink;

__attribute__((noinline)) static int open_close_all(const char* const* libs, int n) {
  void* handles[64];
  for (int i = 0; i < n; ++i) {
    handles[i] = dlopen(libs[i], RTLD_NOW | RTLD_LOCAL);
    if (handles[i] == NULL) {
      fprintf(stderr, "dlopen_loop: %s\n", dlerror());
      return -1;
    }
    /* Any symbol will do; its address keeps the lookup from being idle. */
    sink += (unsigned long)dlsym(handles[i], "_init");
  }
  for (int i = n - 1; i >= 0; --i) dlclose(handles[i]);
  return 0;
}

int main(int argc, char** argv) {
  long loops = argc > 1 ? atol(argv[1]) : 1000;
  const char* const* libs = kDefaultLibs;
  int n = (int)(sizeof(kDefaultLibs) / sizeof(kDefaultLibs[0]));
  if (argc > 2) {
    libs = (const char* const*)(argv + 2);
    n = argc - 2;
  }
  if (n > 64) {
    fprintf(stderr, "dlopen_loop: at most 64 libraries\n");
    return 2;
  }
  for (long r = 0; r < loops; ++r) {
    if (open_close_all(libs, n) != 0) return 1;
    if (r == 0) {
      /* Check once that dlclose() really unloads (RTLD_NOLOAD finds nothing). */
      for (int i = 0; i < n; ++i) {
        void* h = dlopen(libs[i], RTLD_NOW | RTLD_NOLOAD);
        if (h != NULL) {
          fprintf(stderr, "dlopen_loop: %s stays loaded after dlclose\n", libs[i]);
          dlclose(h);
          return 1;
        }
      }
    }
  }
  return 0;
}
