// What the building blocks of the sample program cost on this machine:
// calibration programs (empty; one clock read; one 8-byte read of the
// interrupted user stack; one 64-byte ring-buffer output; 16 loads from one
// page of a map value against 16 loads one page apart, which tells what a
// TLB miss costs a program: the data stay cached between runs, but on a
// kernel with page-table isolation and no PCID every entry from user mode
// flushes the TLB; 64 calls of an empty subprogram), each attached to
// a cpu-clock sampling event on a spinning child, their cost read from the
// kernel's BPF run-time statistics (kernel.bpf_stats_enabled, the same
// source as bpf_cost.py). What the statistics charge the empty program they
// charge every program, so bpf_cost.py's figures minus it are the sample
// program's own cost, and the other rows say which of its parts are dear.
//
//   build/bench/collector/bench_bpf_floor [SECONDS] [HZ]     (as root)
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
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
  // A ring buffer for the output variant; nothing consumes it (when full,
  // the output fails fast, which a run of a few seconds does not reach).
  int ring = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "floor_ring", 0, 0, 16u << 20, nullptr);
  if (ring < 0) return Fail("creating a ring buffer");
  // One 64 KiB array value (16 pages) for the load variants.
  constexpr uint32_t kPages = 16;
  int pages = bpf_map_create(BPF_MAP_TYPE_ARRAY, "floor_pages", 4, kPages * 4096, 1, nullptr);
  if (pages < 0) return Fail("creating an array map");
  constexpr uint8_t kR0 = BPF_REG_0, kR1 = BPF_REG_1, kR2 = BPF_REG_2, kR3 = BPF_REG_3,
                    kR4 = BPF_REG_4, kR6 = BPF_REG_6, kFp = BPF_REG_10;
  const bpf_insn ret0[] = {{BPF_ALU64 | BPF_MOV | BPF_K, kR0, 0, 0, 0},
                           {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  auto with_ret0 = [&](std::vector<bpf_insn> v) {
    v.insert(v.end(), std::begin(ret0), std::end(ret0));
    return v;
  };
  // The interrupted user stack pointer: bpf_perf_event_data.regs.rsp.
  const auto sp_off =
      static_cast<int16_t>(offsetof(bpf_perf_event_data, regs) + offsetof(struct pt_regs, rsp));
  struct Variant {
    const char* name;
    std::vector<bpf_insn> insns;
  };
  // r0 = lookup(pages, 0); then kPages loads, `stride` bytes apart.
  auto loads = [&](int32_t stride) {
    std::vector<bpf_insn> v = {{BPF_ST | BPF_MEM | BPF_W, kFp, 0, -4, 0},
                               {BPF_LD | BPF_DW | BPF_IMM, kR1, BPF_PSEUDO_MAP_FD, 0, pages},
                               {0, 0, 0, 0, 0},
                               {BPF_ALU64 | BPF_MOV | BPF_X, kR2, kFp, 0, 0},
                               {BPF_ALU64 | BPF_ADD | BPF_K, kR2, 0, 0, -4},
                               {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem},
                               {BPF_JMP | BPF_JEQ | BPF_K, kR0, 0, 2 * kPages, 0}};
    for (uint32_t i = 0; i < kPages; ++i) {
      v.push_back({BPF_LDX | BPF_MEM | BPF_DW, kR3, kR0, 0, 0});
      v.push_back({BPF_ALU64 | BPF_ADD | BPF_K, kR0, 0, 0, stride});
    }
    return with_ret0(std::move(v));
  };
  // kCalls calls of a subprogram that returns at once: what a BPF-to-BPF
  // call costs (the sample program's global functions are such calls;
  // this guest's kernel returns through a Safe-RET thunk).
  constexpr int32_t kCalls = 64;
  auto calls = [&]() {
    std::vector<bpf_insn> v;
    for (int32_t i = 0; i < kCalls; ++i) {
      // imm: from the next instruction to the subprogram, after the exit.
      v.push_back({BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, kCalls - i + 1});
    }
    v = with_ret0(std::move(v));
    return with_ret0(std::move(v));  // the subprogram: r0 = 0; exit
  };
  const Variant variants[] = {
      {"empty program", with_ret0({})},
      {"one bpf_ktime_get_ns", with_ret0({{BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ktime_get_ns}})},
      // r3 = ctx->regs.rsp; bpf_probe_read_user(fp - 8, 8, r3)
      {"one 8-byte user read",
       with_ret0({{BPF_LDX | BPF_MEM | BPF_DW, kR3, kR1, sp_off, 0},
                  {BPF_ALU64 | BPF_MOV | BPF_X, kR1, kFp, 0, 0},
                  {BPF_ALU64 | BPF_ADD | BPF_K, kR1, 0, 0, -8},
                  {BPF_ALU64 | BPF_MOV | BPF_K, kR2, 0, 0, 8},
                  {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_probe_read_user}})},
      // 64 zero bytes on the stack, then bpf_ringbuf_output(ring, fp - 64, 64, NO_WAKEUP)
      {"one 64-byte ring output",
       with_ret0({{BPF_ALU64 | BPF_MOV | BPF_K, kR6, 0, 0, 0},
                  {BPF_STX | BPF_MEM | BPF_DW, kFp, kR6, -8, 0},
                  {BPF_STX | BPF_MEM | BPF_DW, kFp, kR6, -16, 0},
                  {BPF_STX | BPF_MEM | BPF_DW, kFp, kR6, -24, 0},
                  {BPF_STX | BPF_MEM | BPF_DW, kFp, kR6, -32, 0},
                  {BPF_STX | BPF_MEM | BPF_DW, kFp, kR6, -40, 0},
                  {BPF_STX | BPF_MEM | BPF_DW, kFp, kR6, -48, 0},
                  {BPF_STX | BPF_MEM | BPF_DW, kFp, kR6, -56, 0},
                  {BPF_STX | BPF_MEM | BPF_DW, kFp, kR6, -64, 0},
                  {BPF_LD | BPF_DW | BPF_IMM, kR1, BPF_PSEUDO_MAP_FD, 0, ring},
                  {0, 0, 0, 0, 0},
                  {BPF_ALU64 | BPF_MOV | BPF_X, kR2, kFp, 0, 0},
                  {BPF_ALU64 | BPF_ADD | BPF_K, kR2, 0, 0, -64},
                  {BPF_ALU64 | BPF_MOV | BPF_K, kR3, 0, 0, 64},
                  {BPF_ALU64 | BPF_MOV | BPF_K, kR4, 0, 0, BPF_RB_NO_WAKEUP},
                  {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_output}})},
      {"16 loads from one page", loads(8)},
      {"16 loads, 16 pages", loads(4096)},
      {"64 subprogram calls", calls()},
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
    std::printf("%-24s %6llu runs, %6.0f ns per run\n", v.name,
                static_cast<unsigned long long>(info.run_cnt),
                info.run_cnt ? static_cast<double>(info.run_time_ns) / info.run_cnt : 0.0);
  }
  {
    std::ofstream out("/proc/sys/kernel/bpf_stats_enabled");
    out << before;
  }
  return status;
}
