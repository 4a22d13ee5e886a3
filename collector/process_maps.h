// The process-map tracker: follows every executable mapping of the
// profiled processes over time, so user IPs become (mapping, file offset)
// pairs that can be symbolized after the processes are gone.
//
// Input is the side-band stream (MMAP2 with build-id, FORK, COMM/exec,
// EXIT) plus mappings synthesized from /proc for processes that existed
// before recording began. Each mapping carries the time it appeared. A
// process's address space is reset at exec and when a new process takes a
// pid (fork); a sample at time t resolves against the newest mapping that
// covers the address, appeared at or before t, and is not older than the
// pid's last reset before t. Nothing is forgotten at exit, because samples
// of a process that exited may still be waiting in the BPF ring.
#ifndef RINGPROF_COLLECTOR_PROCESS_MAPS_H_
#define RINGPROF_COLLECTOR_PROCESS_MAPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "collector/sideband.h"
#include "formats/recording.h"

namespace ringprof::collector {

class ProcessMapTracker {
 public:
  ProcessMapTracker() = default;

  // Applies one side-band record (MMAP2, FORK, COMM, EXIT; others ignored).
  void Apply(const SidebandRecord& r);

  // Adds the executable file mappings of `pid` from <proc_root>/<pid>/maps,
  // as present from time 0. Build-ids are read from the files (cached).
  absl::Status SynthesizeFromProc(uint32_t pid, const std::string& proc_root = "/proc");

  // Parses one /proc/<pid>/maps text. Exposed for tests.
  void AddProcMaps(uint32_t pid, absl::string_view maps_text, uint64_t time_ns);

  // Resolves a user address of `pid` at `time_ns`. mapping_id 0 when no
  // mapping covers it; the raw address is then kept.
  formats::UserFrame Resolve(uint32_t pid, uint64_t time_ns, uint64_t addr) const;

  // Mappings and task events added since the last call, for the writer.
  std::vector<formats::Mapping> TakeNewMappings();
  std::vector<formats::TaskEvent> TakeNewTasks();

  size_t mapping_count() const { return mappings_.size(); }

 private:
  struct PidState {
    std::vector<uint32_t> mappings;  // indexes into mappings_
    std::vector<uint64_t> resets;    // times the address space was replaced, ascending
  };
  void AddMapping(formats::Mapping m);
  void Reset(uint32_t pid, uint64_t time_ns);
  const std::string& BuildIdFor(const std::string& path);

  std::vector<formats::Mapping> mappings_;
  size_t mappings_written_ = 0;
  std::vector<formats::TaskEvent> new_tasks_;
  absl::flat_hash_map<uint32_t, PidState> pids_;
  absl::flat_hash_map<std::string, std::string> build_ids_;  // path -> raw build-id
};

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_PROCESS_MAPS_H_
