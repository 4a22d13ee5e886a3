// Test-only: runs a command and captures its exit status, stdout and stderr.
#ifndef RINGPROF_TESTS_INTEGRATION_SUBPROCESS_H_
#define RINGPROF_TESTS_INTEGRATION_SUBPROCESS_H_

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace ringprof::testing {

struct RunResult {
  int status = -1;  // exit code, or 128+signal
  std::string out;
  std::string err;
};

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `prefix` (e.g. {"setpriv", "--reuid=65534", ...}) is prepended to argv.
inline RunResult RunCommand(const std::vector<std::string>& argv, const std::string& cwd = "") {
  char out_tmpl[] = "/tmp/ringprof-test-out-XXXXXX";
  char err_tmpl[] = "/tmp/ringprof-test-err-XXXXXX";
  int out_fd = mkstemp(out_tmpl);
  int err_fd = mkstemp(err_tmpl);
  RunResult r;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = Slurp(out_tmpl);
  r.err = Slurp(err_tmpl);
  close(out_fd);
  close(err_fd);
  unlink(out_tmpl);
  unlink(err_tmpl);
  return r;
}

}  // namespace ringprof::testing

#endif  // RINGPROF_TESTS_INTEGRATION_SUBPROCESS_H_
