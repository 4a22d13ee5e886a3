// The per-invocation floor of a perf_event BPF program on this machine: an
// empty program (r0 = 0; exit), and one that only reads the clock
// (bpf_ktime_get_ns, as the sample program does once), each attached to a
// cpu-clock sampling event on a spinning child, their cost read from the
// kernel's BPF run-time statistics (kernel.bpf_stats_enabled, the same
// source as bpf_cost.py). What the statistics charge an empty program they
// charge every program before it does any work, so bpf_cost.py's figures
// minus this floor are the sample program's own cost.
//
//   build/bench/collector/bench_bpf_floor [SECONDS] [HZ]     (as root)
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

int Fail(const char* what) {
  std::fprintf(stderr, "bench_bpf_floor: %s: %s\n", what, std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const long hz = argc > 2 ? std::atol(argv[2]) : 999;
  std::string before;
  {
    std::ifstream in("/proc/sys/kernel/bpf_stats_enabled");
    std::getline(in, before);
  }
  {
    std::ofstream out("/proc/sys/kernel/bpf_stats_enabled");
    out << "1";
    if (!out) return Fail("enabling kernel.bpf_stats_enabled (run as root)");
  }
  struct Variant {
    const char* name;
    std::vector<bpf_insn> insns;
  };
  const Variant variants[] = {
      {"empty program",
       {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},  // r0 = 0
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}}},
      {"one bpf_ktime_get_ns",
       {{BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ktime_get_ns},
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}}},
  };
  int status = 0;
  for (const Variant& v : variants) {
    int prog = bpf_prog_load(BPF_PROG_TYPE_PERF_EVENT, "floor", "GPL", v.insns.data(),
                             v.insns.size(), nullptr);
    if (prog < 0) {
      status = Fail("loading a calibration program");
      break;
    }
    pid_t child = fork();
    if (child == 0) {
      volatile unsigned long x = 1;
      for (;;) x = x * 6364136223846793005UL + 1;
    }
    perf_event_attr a{};
    a.size = sizeof(a);
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_CPU_CLOCK;
    a.freq = 1;
    a.sample_freq = static_cast<uint64_t>(hz);
    int ev =
        static_cast<int>(syscall(SYS_perf_event_open, &a, child, -1, -1, PERF_FLAG_FD_CLOEXEC));
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    bool ok = ev >= 0 && ioctl(ev, PERF_EVENT_IOC_SET_BPF, prog) == 0 &&
              ioctl(ev, PERF_EVENT_IOC_ENABLE, 0) == 0;
    if (ok) {
      usleep(static_cast<useconds_t>(seconds * 1e6));
      ok = bpf_obj_get_info_by_fd(prog, &info, &len) == 0;
    }
    if (!ok) status = Fail("attaching to a cpu-clock event or reading statistics");
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    if (ev >= 0) close(ev);
    close(prog);
    if (!ok) break;
    std::printf("%-22s %6llu runs, %6.0f ns per run\n", v.name,
                static_cast<unsigned long long>(info.run_cnt),
                info.run_cnt ? static_cast<double>(info.run_time_ns) / info.run_cnt : 0.0);
  }
  {
    std::ofstream out("/proc/sys/kernel/bpf_stats_enabled");
    out << before;
  }
  return status;
}
