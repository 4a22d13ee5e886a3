// Owners for perf_event file descriptors and their mmap'ed ring buffers.
//
// PerfRing memory ordering: the kernel publishes records by advancing
// data_head with release semantics after writing them; we load data_head
// with acquire before reading records, and store data_tail with release
// after we are done with them, so the kernel never overwrites bytes we are
// still reading. Records that wrap around the end of the data area are
// copied into a scratch buffer before they are handed out.
#ifndef RINGPROF_COLLECTOR_PERF_EVENT_H_
#define RINGPROF_COLLECTOR_PERF_EVENT_H_

#include <linux/perf_event.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/scoped_fd.h"

namespace ringprof::collector {

class PerfEvent {
 public:
  // perf_event_open(attr, pid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC).
  // `what` names the event in error messages.
  static absl::StatusOr<PerfEvent> Open(const perf_event_attr& attr, pid_t pid, int cpu,
                                        int group_fd, const std::string& what);
  int fd() const { return fd_.get(); }
  absl::Status Enable() const;
  absl::Status Disable() const;
  // Sends this event's records to `target`'s ring (same CPU, same clock).
  absl::Status SetOutput(const PerfEvent& target) const;

 private:
  explicit PerfEvent(ScopedFd fd) : fd_(std::move(fd)) {}
  ScopedFd fd_;
};

class PerfRing {
 public:
  // Maps 1 + data_pages pages (data_pages must be a power of two).
  static absl::StatusOr<PerfRing> Map(const PerfEvent& event, size_t data_pages);
  PerfRing(PerfRing&& other) noexcept;
  PerfRing& operator=(PerfRing&& other) noexcept;
  PerfRing(const PerfRing&) = delete;
  PerfRing& operator=(const PerfRing&) = delete;
  ~PerfRing();

  // Hands every complete record now in the ring to `fn` (header included)
  // and releases them. Returns the number of records read.
  size_t Drain(const std::function<void(absl::Span<const uint8_t>)>& fn);

 private:
  PerfRing(void* base, size_t size) : base_(base), size_(size) {}
  void* base_ = nullptr;
  size_t size_ = 0;  // whole mapping
  std::vector<uint8_t> scratch_;
};

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_PERF_EVENT_H_
