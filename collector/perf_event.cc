#include "collector/perf_event.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace ringprof::collector {

absl::StatusOr<PerfEvent> PerfEvent::Open(const perf_event_attr& attr, pid_t pid, int cpu,
                                          int group_fd, const std::string& what) {
  int fd = static_cast<int>(
      syscall(SYS_perf_event_open, &attr, pid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) {
    return LastErrnoStatus(
        absl::StrCat("perf_event_open(", what, ", pid ", pid, ", cpu ", cpu, ")"));
  }
  return PerfEvent(ScopedFd(fd));
}

absl::Status PerfEvent::Enable() const {
  if (ioctl(fd_.get(), PERF_EVENT_IOC_ENABLE, 0) != 0)
    return LastErrnoStatus("enabling perf event");
  return absl::OkStatus();
}

absl::Status PerfEvent::Disable() const {
  if (ioctl(fd_.get(), PERF_EVENT_IOC_DISABLE, 0) != 0) {
    return LastErrnoStatus("disabling perf event");
  }
  return absl::OkStatus();
}

absl::Status PerfEvent::SetOutput(const PerfEvent& target) const {
  if (ioctl(fd_.get(), PERF_EVENT_IOC_SET_OUTPUT, target.fd()) != 0) {
    return LastErrnoStatus("redirecting perf event output");
  }
  return absl::OkStatus();
}

absl::StatusOr<PerfRing> PerfRing::Map(const PerfEvent& event, size_t data_pages) {
  if (data_pages == 0 || (data_pages & (data_pages - 1)) != 0) {
    return absl::InvalidArgumentError("perf ring size must be a power of two pages");
  }
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t size = (1 + data_pages) * page;
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, event.fd(), 0);
  if (base == MAP_FAILED) return LastErrnoStatus("mapping perf ring buffer");
  return PerfRing(base, size);
}

PerfRing::PerfRing(PerfRing&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      scratch_(std::move(other.scratch_)) {}

PerfRing& PerfRing::operator=(PerfRing&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) munmap(base_, size_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    scratch_ = std::move(other.scratch_);
  }
  return *this;
}

PerfRing::~PerfRing() {
  if (base_ != nullptr) munmap(base_, size_);
}

size_t PerfRing::Drain(const std::function<void(absl::Span<const uint8_t>)>& fn) {
  if (base_ == nullptr) return 0;
  auto* meta = static_cast<perf_event_mmap_page*>(base_);
  const uint8_t* data = static_cast<const uint8_t*>(base_) + meta->data_offset;
  const uint64_t data_size = meta->data_size;
  uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
  uint64_t tail = meta->data_tail;
  size_t count = 0;
  while (tail < head) {
    uint64_t off = tail % data_size;
    perf_event_header hdr;
    // The header itself may wrap.
    for (size_t i = 0; i < sizeof(hdr); ++i) {
      reinterpret_cast<uint8_t*>(&hdr)[i] = data[(off + i) % data_size];
    }
    if (hdr.size < sizeof(hdr) || hdr.size > head - tail) break;  // corrupt or partial
    if (off + hdr.size <= data_size) {
      fn(absl::MakeConstSpan(data + off, hdr.size));
    } else {
      scratch_.resize(hdr.size);
      size_t first = data_size - off;
      std::memcpy(scratch_.data(), data + off, first);
      std::memcpy(scratch_.data() + first, data, hdr.size - first);
      fn(absl::MakeConstSpan(scratch_.data(), hdr.size));
    }
    tail += hdr.size;
    ++count;
  }
  __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
  return count;
}

}  // namespace ringprof::collector
