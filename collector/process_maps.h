// The process-map tracker: follows every executable mapping of the
// profiled processes over time, so user IPs become (mapping, file offset)
// pairs that can be symbolized after the processes are gone.
//
// Input is the side-band stream (MMAP2 with build-id, FORK, COMM/exec,
// EXIT) plus mappings synthesized from /proc for processes that existed
// before recording began. Each mapping carries the time it appeared. A
// process's address space starts over at exec and when a new process takes
// a pid (fork): a *generation*. A sample at time t resolves against the
// newest mapping that covers the address in the pid's generation at t; if
// none does and that generation began with a fork, the parent's address
// space at the fork time is searched (recursively), since a child inherits
// its parent's mappings. Inheritance is resolved lazily, so the order in
// which the per-CPU side-band rings are drained does not matter: a parent's
// MMAP2 applied after its child's FORK is still found. Nothing is
// forgotten at exit, because samples of a process that exited may still be
// waiting in the BPF ring.
#ifndef RINGPROF_COLLECTOR_PROCESS_MAPS_H_
#define RINGPROF_COLLECTOR_PROCESS_MAPS_H_

#include <cstdint>
#include <map>
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
  // Resolves `addr` in the address space `pid` had just before the exec
  // that began its generation at time_ns; mapping_id 0 when that
  // generation did not begin with an exec, or nothing covered addr. A
  // sample taken during execve, after the kernel switched to the new
  // address space but before the task returned to user mode, still has
  // the old image's user registers: its IP is the old image's execve.
  formats::UserFrame ResolveBeforeExec(uint32_t pid, uint64_t time_ns, uint64_t addr) const;
  // The mapping Resolve would use, or nullptr.
  const formats::Mapping* FindMapping(uint32_t pid, uint64_t time_ns, uint64_t addr) const {
    return Find(pid, time_ns, addr, 0);
  }

  // Mappings and task events added since the last call, for the writer.
  std::vector<formats::Mapping> TakeNewMappings();
  std::vector<formats::TaskEvent> TakeNewTasks();

  size_t mapping_count() const { return mappings_.size(); }

  // The executable mappings in force in `pid` now (its newest generation,
  // plus what it inherited at fork and did not replace), sorted by start,
  // not overlapping: what the BPF table unwinder needs per process.
  std::vector<const formats::Mapping*> CurrentMappings(uint32_t pid) const;
  // Processes whose address space changed (a mapping, an exec, a fork), and
  // processes that exited, since the last call.
  std::vector<uint32_t> TakeChangedPids();
  std::vector<uint32_t> TakeExitedPids();

 private:
  // The start of a generation: an exec (parent 0) or a fork from `parent`.
  struct Generation {
    uint64_t time_ns = 0;
    uint32_t parent = 0;
  };
  // What covered one address range of a process over time: every mapping
  // that covers all of [start, end), as (time it appeared, index into
  // mappings_), ascending by time (ties: in the order they came). The
  // mapping in force at time t is the last one at or before t. Segments
  // are split where mappings begin and end, so a lookup is a search in
  // the segment map and one in its versions, however many mappings the
  // process has had (a dlopen/dlclose loop maps the same range thousands
  // of times; munmap is not reported).
  struct Segment {
    uint64_t end = 0;
    std::vector<std::pair<uint64_t, uint32_t>> versions;
  };
  struct PidState {
    std::map<uint64_t, Segment> segments;  // by start, not overlapping
    std::vector<Generation> generations;   // ascending by time
  };
  // The mapping of st in force at time_ns over the segment `seg`, unless it
  // appeared before `floor` (an earlier generation's).
  const formats::Mapping* VersionAt(const Segment& seg, uint64_t time_ns, uint64_t floor) const;
  void AddMapping(formats::Mapping m);
  // The generation of `st` in force at time_ns, or nullptr (before the first).
  static const Generation* GenerationAt(const PidState& st, uint64_t time_ns);
  void StartGeneration(uint32_t pid, uint64_t time_ns, uint32_t parent);
  const formats::Mapping* Find(uint32_t pid, uint64_t time_ns, uint64_t addr, int depth) const;
  void CollectMappings(uint32_t pid, uint64_t time_ns, int depth,
                       std::vector<const formats::Mapping*>* out) const;
  const std::string& BuildIdFor(const std::string& path);

  std::vector<formats::Mapping> mappings_;
  size_t mappings_written_ = 0;
  std::vector<formats::TaskEvent> new_tasks_;
  absl::flat_hash_map<uint32_t, PidState> pids_;
  absl::flat_hash_map<std::string, std::string> build_ids_;  // path -> raw build-id
  std::vector<uint32_t> changed_pids_;
  std::vector<uint32_t> exited_pids_;
};

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_PROCESS_MAPS_H_
