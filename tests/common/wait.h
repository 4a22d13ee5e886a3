// Test-only: waiting for a state instead of sleeping for a time.
//
// A test that sleeps "long enough" for something to happen measures the
// machine, not the code: on a loaded or slow machine the sleep is too
// short, on a fast one it is wasted. Wait for the state itself (a file holds
// samples, /proc/PID/exe is the workload) and keep a deadline only as a
// generous guard against a hang, never as the thing being measured.
#ifndef RINGPROF_TESTS_COMMON_WAIT_H_
#define RINGPROF_TESTS_COMMON_WAIT_H_

#include <chrono>
#include <thread>

namespace ringprof::testing {

// How long a test waits for a state before it gives up: far longer than
// any state the tests wait for takes on a loaded 2-core machine.
inline constexpr std::chrono::milliseconds kHangGuard{60'000};

// Calls `done` every `poll` until it returns true (returns true) or
// `timeout` has passed (returns false, after one last call).
template <typename Predicate>
bool WaitUntil(Predicate&& done, std::chrono::milliseconds timeout = kHangGuard,
               std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace ringprof::testing

#endif  // RINGPROF_TESTS_COMMON_WAIT_H_
