// What record profiles: a command it starts, or existing processes.
//
// A command is forked and parked on a gate pipe until the perf events are
// opened on it (with enable_on_exec), then released to exec. If the
// profiler dies at any point, the gate reads EOF and the child exits, and
// a command already running is killed with it (PR_SET_PDEATHSIG). An exec that
// fails is reported through a close-on-exec pipe, so "command not found"
// is an error, not an empty profile.
#ifndef RINGPROF_COLLECTOR_TARGET_H_
#define RINGPROF_COLLECTOR_TARGET_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/scoped_fd.h"

namespace ringprof::collector {

// Resolves argv[0] the way execvp would; NotFound/PermissionDenied with a
// clear message when it cannot be run.
absl::StatusOr<std::string> ResolveCommand(const std::string& name);

class ChildProcess {
 public:
  // Forks a child that waits for Start() and then execs argv. The child
  // holds nothing of the profiler's (call it before opening BPF objects,
  // perf events or the recording) and dies with the profiler
  // (PR_SET_PDEATHSIG), before exec and after it, however the profiler
  // ends. With stdout_to_stderr, the command's standard output goes to
  // standard error (the recording is being written to standard output).
  static absl::StatusOr<ChildProcess> Spawn(const std::vector<std::string>& argv,
                                            bool stdout_to_stderr = false);
  ChildProcess(ChildProcess&&) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ~ChildProcess();  // kills and reaps a child that was never started

  pid_t pid() const { return pid_; }
  // Releases the child and waits until it has exec'ed (or failed to).
  absl::Status Start();
  // Non-blocking: true once the child has exited (and was reaped).
  bool PollExited();
  // Sends SIGTERM, then SIGKILL after grace_ms, and reaps.
  void Terminate(int grace_ms);
  bool exited() const { return exited_; }
  int wait_status() const { return wait_status_; }
  // CPU time of the child and its reaped descendants, once exited.
  double cpu_seconds() const;

 private:
  ChildProcess(pid_t pid, ScopedFd gate, ScopedFd err)
      : pid_(pid), gate_(std::move(gate)), err_(std::move(err)) {}
  pid_t pid_ = -1;
  ScopedFd gate_;
  ScopedFd err_;
  bool started_ = false;
  bool exited_ = false;
  int wait_status_ = 0;
  struct rusage usage_ = {};
};

// Thread ids of `pid` from /proc/<pid>/task. NotFound when no such process.
absl::StatusOr<std::vector<pid_t>> ListThreads(pid_t pid);
// The process (thread group) a thread id belongs to.
absl::StatusOr<pid_t> ProcessOfThread(pid_t tid);
// True while `pid` runs: false once it is gone or a zombie.
bool ProcessAlive(pid_t pid);
// Fails with NotFound / PermissionDenied when `pid` cannot be profiled.
absl::Status CheckProcessExists(pid_t pid);

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_TARGET_H_
