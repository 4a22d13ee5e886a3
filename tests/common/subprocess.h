// Test-only: running programs, and owning the ones a test starts in the
// background.
//
// RunCommand runs an argv (PATH searched) to completion and captures its exit
// status, stdout and stderr. Output goes through files, so a chatty program
// cannot block on a full pipe. RunShell does the same for a /bin/sh command
// line. With RunOptions::time_limit (TimeLimit()) a program that blocks
// (on a FIFO, on an endless stdin) is stopped at the limit instead of hanging
// the test. Process starts a program in the background and owns it: the test
// signals it through a pidfd, which a reused pid cannot redirect, and the
// destructor kills and reaps it if the test has not. Tests signal only
// processes they started (or children of those, Process::Attach), by pid,
// never by name.
#ifndef RINGPROF_TESTS_COMMON_SUBPROCESS_H_
#define RINGPROF_TESTS_COMMON_SUBPROCESS_H_

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/common/files.h"
#include "tests/common/wait.h"

extern char** environ;

namespace ringprof::testing {

struct RunResult {
  // Exit code; 128+signal when killed; -1 when it could not be started; 124
  // when RunOptions::time_limit stopped it (as timeout(1) reports it).
  int status = -1;
  std::string out;
  std::string err;
  bool timed_out = false;  // RunCommand stopped it at RunOptions::time_limit
  double seconds = 0;      // RunCommand: wall time from the start to its exit
  bool ok() const { return status == 0; }
};

struct RunOptions {
  std::string cwd;                       // "": the test's working directory
  std::string stdin_path = "/dev/null";  // what the program reads on stdin
  std::vector<std::string> env;          // "NAME=value", set on top of the test's environment
  // RunCommand and RunShell only (a Process has Wait's timeout): how long
  // the program may run; zero, no limit. With a limit it runs in a process
  // group of its own (so a shell's pipeline is stopped with it). At the
  // limit the group gets SIGTERM, and SIGKILL `kill_after` later if the
  // program is still there, what `timeout -k KILL_AFTER LIMIT` does; the
  // result then has timed_out set and status 124. The wait is a poll on the
  // program's pidfd, and the group is signalled while its leader, our
  // child, is unreaped, so its id cannot have been reused.
  std::chrono::milliseconds time_limit{0};
  std::chrono::milliseconds kill_after{2000};
};

// Default options but for a time limit: RunCommand(argv, TimeLimit(10s)).
inline RunOptions TimeLimit(std::chrono::milliseconds limit) {
  RunOptions o;
  o.time_limit = limit;
  return o;
}

namespace internal {

// Through syscall(2): glibc 2.36's <sys/pidfd.h> declares these without C
// linkage, and older glibc lacks them.
inline int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
inline int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// A wait status as RunResult::status.
inline int DecodeWaitStatus(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

// A new temporary file (close-on-exec); its path in `*path`.
inline int TempFile(std::string* path) {
  std::string tmpl = "/tmp/ringprof-test-io-XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  *path = fd >= 0 ? tmpl : "";
  return fd;
}

// Forks and execs `argv` with stdout/stderr on `out_fd`/`err_fd`. Everything
// the child needs is built before the fork, so the child only calls
// async-signal-safe functions. Returns the pid, or -1.
inline pid_t Spawn(const std::vector<std::string>& argv, const RunOptions& options, int out_fd,
                   int err_fd) {
  if (argv.empty()) return -1;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    bool overridden = false;
    for (const auto& o : options.env) {
      const size_t name_end = o.find('=');
      overridden |=
          name_end != std::string::npos && entry.compare(0, name_end + 1, o, 0, name_end + 1) == 0;
    }
    if (!overridden) env_strings.push_back(std::move(entry));
  }
  env_strings.insert(env_strings.end(), options.env.begin(), options.env.end());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  const char* in_path = options.stdin_path.c_str();
  const bool own_group = options.time_limit.count() > 0;

  pid_t pid = ::fork();
  if (pid == 0) {
    if (own_group && ::setpgid(0, 0) != 0) _exit(126);
    int in = ::open(in_path, O_RDONLY | O_CLOEXEC);
    if (in < 0 || ::dup2(in, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) _exit(126);
    if (cwd != nullptr && ::chdir(cwd) != 0) _exit(126);
    ::execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  // Also here, so the group exists before the parent may signal it.
  if (pid > 0 && own_group) ::setpgid(pid, pid);
  return pid;
}

// True when the process behind `pidfd` exits within `timeout` (a pidfd polls
// readable once it has). Never returns false before `timeout` has passed.
inline bool ExitsWithin(int pidfd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // Rounded up: poll's timeout truncated would end the wait early.
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
            .count();
    pollfd pfd = {pidfd, POLLIN, 0};
    const int n = ::poll(&pfd, 1, left > 0 ? static_cast<int>(left) : 0);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
    if (left <= 0) return false;  // that poll was the last look, at the deadline
  }
}

// Waits for `pid`, our child started with `options`, and reaps it (its
// wait status in `*st`); stops it at options.time_limit (see RunOptions).
// False when it could not be waited for.
inline bool WaitForChild(pid_t pid, const RunOptions& options, int* st, bool* timed_out) {
  *timed_out = false;
  if (options.time_limit.count() > 0) {
    const int pidfd = PidfdOpen(pid);
    if (pidfd < 0) {  // no pidfd: do not run what we cannot bound
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return false;
    }
    if (!ExitsWithin(pidfd, options.time_limit)) {
      *timed_out = true;
      ::kill(-pid, SIGTERM);
      if (!ExitsWithin(pidfd, options.kill_after)) ::kill(-pid, SIGKILL);
    }
    ::close(pidfd);
  }
  while (::waitpid(pid, st, 0) != pid) {
    if (errno != EINTR) return false;
  }
  return true;
}

}  // namespace internal

// Runs `argv` to completion (no shell), or until options.time_limit.
inline RunResult RunCommand(const std::vector<std::string>& argv,
                            const RunOptions& options = RunOptions()) {
  RunResult r;
  std::string out_path, err_path;
  int out_fd = internal::TempFile(&out_path);
  int err_fd = internal::TempFile(&err_path);
  if (out_fd >= 0 && err_fd >= 0) {
    const auto start = std::chrono::steady_clock::now();
    pid_t pid = internal::Spawn(argv, options, out_fd, err_fd);
    if (pid > 0) {
      int st = 0;
      if (internal::WaitForChild(pid, options, &st, &r.timed_out)) {
        r.status = r.timed_out ? 124 : internal::DecodeWaitStatus(st);
      }
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.out = Slurp(out_path);
    r.err = Slurp(err_path);
  }
  for (int fd : {out_fd, err_fd}) {
    if (fd >= 0) ::close(fd);
  }
  for (const std::string& p : {out_path, err_path}) {
    if (!p.empty()) ::unlink(p.c_str());
  }
  return r;
}

// Runs a /bin/sh command line to completion, or until options.time_limit.
inline RunResult RunShell(const std::string& command, const RunOptions& options = RunOptions()) {
  return RunCommand({"/bin/sh", "-c", command}, options);
}

// True when `name` is a command on PATH.
inline bool HaveTool(const std::string& name) {
  return RunShell("command -v '" + name + "' >/dev/null 2>&1").ok();
}

// A process the test started in the background (or a child of one, see
// Attach), owned until it is reaped. Move-only.
class Process {
 public:
  // Starts `argv`. Its stdout and stderr go to files that out() and err()
  // read, also while it runs. valid() is false if it could not be started.
  static Process Start(const std::vector<std::string>& argv,
                       const RunOptions& options = RunOptions()) {
    Process p;
    int out_fd = internal::TempFile(&p.out_path_);
    int err_fd = internal::TempFile(&p.err_path_);
    if (out_fd >= 0 && err_fd >= 0) {
      p.pid_ = internal::Spawn(argv, options, out_fd, err_fd);
      // Our unreaped child: its pid cannot be reused before we wait for it.
      if (p.pid_ > 0) p.pidfd_ = internal::PidfdOpen(p.pid_);
      if (p.pid_ > 0 && p.pidfd_ < 0) {  // no pidfd: do not run what we cannot own
        ::kill(p.pid_, SIGKILL);
        ::waitpid(p.pid_, nullptr, 0);
        p.pid_ = -1;
      }
      p.child_ = true;
    }
    for (int fd : {out_fd, err_fd}) {
      if (fd >= 0) ::close(fd);
    }
    return p;
  }

  // Takes charge of `pid`, which the test did not fork, if it is a child of
  // `parent` (a process the test started, still alive): e.g. the command a
  // recorder forked, which outlives a recorder killed with SIGKILL. The pidfd
  // is opened first and the parent checked after, so a reused pid is never
  // signalled. valid() is false when `pid` is not `parent`'s child. Such a
  // process can be signalled and waited for, but the test cannot reap it.
  static Process Attach(pid_t pid, pid_t parent) {
    Process p;
    int fd = internal::PidfdOpen(pid);
    if (fd < 0) return p;
    if (ParentOf(pid) != parent) {
      ::close(fd);
      return p;
    }
    p.pid_ = pid;
    p.pidfd_ = fd;
    return p;
  }

  Process() = default;
  Process(Process&& o) noexcept { *this = std::move(o); }
  Process& operator=(Process&& o) noexcept {
    if (this != &o) {
      Release();
      pid_ = std::exchange(o.pid_, -1);
      pidfd_ = std::exchange(o.pidfd_, -1);
      child_ = std::exchange(o.child_, false);
      reaped_ = std::exchange(o.reaped_, false);
      status_ = std::exchange(o.status_, -1);
      out_path_ = std::exchange(o.out_path_, "");
      err_path_ = std::exchange(o.err_path_, "");
    }
    return *this;
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { Release(); }

  bool valid() const { return pid_ > 0 && pidfd_ >= 0; }
  pid_t pid() const { return pid_; }

  // Sends `sig`; false once it has been reaped, or when it never started.
  bool Signal(int sig) {
    if (!valid() || reaped_) return false;
    return internal::PidfdSendSignal(pidfd_, sig) == 0;
  }

  // True once it has exited (a zombie has exited).
  bool Exited() const { return !valid() || reaped_ || Readable(0); }

  // Waits for it to exit and returns its status as RunResult::status (-1
  // for an attached process, whose status goes to its parent). After
  // `timeout` (a hang guard) it is killed first.
  int Wait(std::chrono::milliseconds timeout = kHangGuard) {
    if (!valid() || reaped_) return status_;
    if (!Readable(static_cast<int>(timeout.count()))) Signal(SIGKILL);
    if (child_) {
      int st = 0;
      if (::waitpid(pid_, &st, 0) == pid_) status_ = internal::DecodeWaitStatus(st);
      reaped_ = true;
    } else {
      Readable(static_cast<int>(kHangGuard.count()));
    }
    return status_;
  }

  // What it has written to stdout / stderr so far.
  std::string out() const { return out_path_.empty() ? "" : Slurp(out_path_); }
  std::string err() const { return err_path_.empty() ? "" : Slurp(err_path_); }

  // The parent pid of `pid` from /proc/PID/stat, or -1.
  static pid_t ParentOf(pid_t pid) {
    std::string stat = Slurp("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');  // "pid (comm) S ppid ..."
    if (paren == std::string::npos || paren + 4 > stat.size()) return -1;
    return static_cast<pid_t>(std::atoi(stat.c_str() + paren + 4));
  }

 private:
  // A pidfd polls readable once the process has exited.
  bool Readable(int timeout_ms) const {
    pollfd pfd = {pidfd_, POLLIN, 0};
    return ::poll(&pfd, 1, timeout_ms) > 0;
  }

  void Release() {
    if (valid() && !reaped_) {
      Signal(SIGKILL);
      if (child_) {
        ::waitpid(pid_, nullptr, 0);
      } else {
        Readable(static_cast<int>(kHangGuard.count()));
      }
    }
    if (pidfd_ >= 0) ::close(pidfd_);
    for (const std::string& p : {out_path_, err_path_}) {
      if (!p.empty()) ::unlink(p.c_str());
    }
    pid_ = -1;
    pidfd_ = -1;
    reaped_ = false;
    out_path_.clear();
    err_path_.clear();
  }

  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool child_ = false;   // forked by us: we reap it
  bool reaped_ = false;  // waited for: the pid may now belong to another process
  int status_ = -1;
  std::string out_path_;
  std::string err_path_;
};

// `go tool pprof ARGS`, offline, with HOME, GOCACHE, GOPATH and
// PPROF_TMPDIR inside `scratch_dir` (so nothing outside it is written).
inline RunResult GoToolPprof(const std::string& scratch_dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"go", "tool", "pprof"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions o;
  o.env = {"HOME=" + scratch_dir,
           "GOCACHE=" + scratch_dir + "/gocache",
           "GOPATH=" + scratch_dir + "/gopath",
           "GOFLAGS=",
           "GOPROXY=off",
           "PPROF_TMPDIR=" + scratch_dir};
  return RunCommand(argv, o);
}

// Pids of the direct children of `pid` (from /proc).
inline std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t c;
  while (in >> c) out.push_back(c);
  return out;
}

}  // namespace ringprof::testing

#endif  // RINGPROF_TESTS_COMMON_SUBPROCESS_H_
