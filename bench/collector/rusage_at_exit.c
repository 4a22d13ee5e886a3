/* LD_PRELOAD helper of bench/collector/real_programs.py: measures a
 * profiler alone, without the workload it forks.
 *
 * Loaded into the profiler (perf or ringprof) with
 *   LD_PRELOAD=librusage_at_exit.so RUSAGE_AT_EXIT_OUT=FILE profiler ...
 * the constructor takes both variables out of the environment, so the
 * workload the profiler starts runs without this library; at exit the
 * destructor writes the profiler process's own figures (all its threads,
 * none of its children) to FILE:
 *   "utime_us stime_us vmhwm_kib maxrss_kib\n"
 * utime/stime from getrusage(RUSAGE_SELF); vmhwm_kib is VmHWM from
 * /proc/self/status, the peak RSS of this program image. ru_maxrss is kept
 * for reference only: the kernel carries it over exec() from the image
 * that exec'd (a fork of the harness, whose RSS it then reports when that is
 * larger), so it is not the profiler's own peak.
 * Nothing is written when the process leaves through _exit() or a signal,
 * or in a forked child that returns through exit() (the pid is checked).
 * Not product code: a bench tool only. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static char out_path[4096];
static pid_t owner;

__attribute__((constructor)) static void rusage_at_exit_init(void) {
  const char* p = getenv("RUSAGE_AT_EXIT_OUT");
  if (p != NULL && strlen(p) < sizeof(out_path)) {
    strcpy(out_path, p);
    owner = getpid();
  }
  unsetenv("RUSAGE_AT_EXIT_OUT");
  unsetenv("LD_PRELOAD");
}

__attribute__((destructor)) static void rusage_at_exit_fini(void) {
  if (out_path[0] == '\0' || getpid() != owner) return;
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return;
  long hwm = -1;
  FILE* status = fopen("/proc/self/status", "re");
  if (status != NULL) {
    char line[256];
    while (fgets(line, sizeof(line), status) != NULL) {
      if (strncmp(line, "VmHWM:", 6) == 0) {
        hwm = strtol(line + 6, NULL, 10);
        break;
      }
    }
    fclose(status);
  }
  char buf[160];
  int n =
      snprintf(buf, sizeof(buf), "%lld %lld %ld %ld\n",
               (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
               (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, hwm, ru.ru_maxrss);
  int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t w = write(fd, buf, (size_t)n);
  (void)w;
  close(fd);
}
