#include "collector/target.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"

namespace ringprof::collector {

absl::StatusOr<std::string> ResolveCommand(const std::string& name) {
  auto check = [](const std::string& path) -> absl::Status {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return LastErrnoStatus(path);
    if (S_ISDIR(st.st_mode))
      return absl::InvalidArgumentError(absl::StrCat(path, " is a directory"));
    if (access(path.c_str(), X_OK) != 0) return LastErrnoStatus(path);
    return absl::OkStatus();
  };
  if (name.empty()) return absl::InvalidArgumentError("empty command name");
  if (name.find('/') != std::string::npos) {
    absl::Status s = check(name);
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat("cannot run command: ", s.message()));
    return name;
  }
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", name);
    if (check(candidate).ok()) return candidate;
  }
  return absl::NotFoundError(
      absl::StrCat("command '", name, "' not found in PATH; check the spelling or give a path"));
}

absl::StatusOr<ChildProcess> ChildProcess::Spawn(const std::vector<std::string>& argv,
                                                 bool stdout_to_stderr) {
  if (argv.empty()) return absl::InvalidArgumentError("no command given");
  int gate[2];
  int err[2];
  if (pipe2(gate, O_CLOEXEC) != 0) return LastErrnoStatus("creating a pipe");
  ScopedFd gate_r(gate[0]);
  ScopedFd gate_w(gate[1]);
  if (pipe2(err, O_CLOEXEC) != 0) return LastErrnoStatus("creating a pipe");
  ScopedFd err_r(err[0]);
  ScopedFd err_w(err[1]);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return LastErrnoStatus("fork");
  if (pid == 0) {
    // Child: wait for the go-ahead, then exec. Only async-signal-safe calls.
    // The profiler's ends of the pipes are closed here, so that the gate
    // reads EOF as soon as the profiler is gone, however it went.
    close(gate_w.get());
    close(err_r.get());
    // The profiler's signal handlers (which only set a flag) must not keep
    // a parked child from dying of SIGTERM or SIGINT; exec would reset
    // them anyway.
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Die with the profiler: a SIGKILLed recorder must leave nothing
    // behind, neither a parked child nor a command running unprofiled. The
    // parent may already have died before prctl took effect.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
    char c;
    ssize_t n;
    do {
      n = read(gate_r.get(), &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) _exit(127);  // the profiler went away
    if (stdout_to_stderr && dup2(STDERR_FILENO, STDOUT_FILENO) < 0) _exit(127);
    execvp(args[0], args.data());
    int e = errno;
    ssize_t w = write(err_w.get(), &e, sizeof(e));
    (void)w;
    _exit(127);
  }
  return ChildProcess(pid, std::move(gate_w), std::move(err_r));
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      gate_(std::move(o.gate_)),
      err_(std::move(o.err_)),
      started_(o.started_),
      exited_(o.exited_),
      wait_status_(o.wait_status_),
      usage_(o.usage_) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exited_) {
    if (!started_) gate_.Reset();  // the child sees EOF and exits 127
    Terminate(started_ ? 1000 : 0);
  }
}

absl::Status ChildProcess::Start() {
  char c = 'g';
  if (write(gate_.get(), &c, 1) != 1) return LastErrnoStatus("starting the command");
  gate_.Reset();
  started_ = true;
  int e = 0;
  ssize_t n;
  do {
    n = read(err_.get(), &e, sizeof(e));  // EOF on a successful exec
  } while (n < 0 && errno == EINTR);
  err_.Reset();
  if (n == sizeof(e)) {
    PollExited();
    return ErrnoStatus(e, "cannot run the command");
  }
  return absl::OkStatus();
}

bool ChildProcess::PollExited() {
  if (exited_ || pid_ <= 0) return exited_;
  int status = 0;
  pid_t r = wait4(pid_, &status, WNOHANG, &usage_);
  if (r == pid_) {
    exited_ = true;
    wait_status_ = status;
  }
  return exited_;
}

void ChildProcess::Terminate(int grace_ms) {
  if (exited_ || pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int waited = 0; waited < grace_ms; waited += 10) {
    if (PollExited()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  int status = 0;
  if (wait4(pid_, &status, 0, &usage_) == pid_) {
    exited_ = true;
    wait_status_ = status;
  }
}

double ChildProcess::cpu_seconds() const {
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return secs(usage_.ru_utime) + secs(usage_.ru_stime);
}

absl::StatusOr<std::vector<pid_t>> ListThreads(pid_t pid) {
  std::string dir = absl::StrCat("/proc/", pid, "/task");
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no process with PID ", pid));
    return LastErrnoStatus(absl::StrCat("listing threads of PID ", pid));
  }
  std::vector<pid_t> tids;
  while (struct dirent* e = readdir(d)) {
    int tid = 0;
    if (absl::SimpleAtoi(e->d_name, &tid) && tid > 0) tids.push_back(tid);
  }
  closedir(d);
  if (tids.empty())
    return absl::NotFoundError(absl::StrCat("PID ", pid, " has no threads (exited?)"));
  return tids;
}

absl::StatusOr<pid_t> ProcessOfThread(pid_t tid) {
  std::ifstream in(absl::StrCat("/proc/", tid, "/status"));
  if (!in) return absl::NotFoundError(absl::StrCat("no process with PID ", tid));
  std::string line;
  while (std::getline(in, line)) {
    int tgid = 0;
    if (absl::StartsWith(line, "Tgid:") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(absl::string_view(line).substr(5)), &tgid)) {
      return tgid;
    }
  }
  return absl::NotFoundError(absl::StrCat("no Tgid line in /proc/", tid, "/status"));
}

bool ProcessAlive(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat;
  if (!in || !std::getline(in, stat)) return false;
  // "pid (comm) S ...": the state follows the last ')'.
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
  char state = stat[paren + 2];
  return state != 'Z' && state != 'X' && state != 'x';
}

absl::Status CheckProcessExists(pid_t pid) {
  if (pid <= 0) return absl::InvalidArgumentError(absl::StrCat("invalid PID ", pid));
  if (kill(pid, 0) != 0) {
    if (errno == ESRCH) return absl::NotFoundError(absl::StrCat("no process with PID ", pid));
    if (errno == EPERM) {
      return absl::PermissionDeniedError(absl::StrCat("not permitted to profile PID ", pid,
                                                      "; run as root or as the process's owner"));
    }
    return LastErrnoStatus(absl::StrCat("checking PID ", pid));
  }
  return absl::OkStatus();
}

}  // namespace ringprof::collector
