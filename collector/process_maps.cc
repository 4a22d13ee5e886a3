#include "collector/process_maps.h"

#include <sys/mman.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "unwind/elf_image.h"

namespace ringprof::collector {

void ProcessMapTracker::AddMapping(formats::Mapping m) {
  m.id = static_cast<uint32_t>(mappings_.size() + 1);
  const auto idx = static_cast<uint32_t>(mappings_.size());
  const uint64_t start = m.start;
  const uint64_t end = m.end;
  const uint64_t time = m.time_ns;
  changed_pids_.push_back(m.pid);
  std::map<uint64_t, Segment>& segs = pids_[m.pid].segments;
  mappings_.push_back(std::move(m));
  if (start >= end) return;
  // Split the segments that straddle the new mapping's ends.
  auto split_at = [&](uint64_t at) {
    auto it = segs.upper_bound(at);
    if (it == segs.begin()) return;
    --it;
    if (it->first < at && at < it->second.end) {
      Segment tail{it->second.end, it->second.versions};
      it->second.end = at;
      segs.emplace(at, std::move(tail));
    }
  };
  split_at(start);
  split_at(end);
  // Add the new version to every segment in [start, end), and cover the
  // gaps between them with segments of their own.
  auto add = [&](Segment& seg) {
    auto pos = std::upper_bound(
        seg.versions.begin(), seg.versions.end(), time,
        [](uint64_t t, const std::pair<uint64_t, uint32_t>& v) { return t < v.first; });
    seg.versions.insert(pos, {time, idx});
  };
  uint64_t pos = start;
  auto it = segs.lower_bound(start);
  while (pos < end) {
    if (it != segs.end() && it->first == pos) {
      add(it->second);
      pos = it->second.end;
      ++it;
      continue;
    }
    const uint64_t gap_end = it != segs.end() && it->first < end ? it->first : end;
    it = std::next(segs.emplace_hint(it, pos, Segment{gap_end, {{time, idx}}}));
    pos = gap_end;
  }
}

const formats::Mapping* ProcessMapTracker::VersionAt(const Segment& seg, uint64_t time_ns,
                                                     uint64_t floor) const {
  auto v = std::upper_bound(
      seg.versions.begin(), seg.versions.end(), time_ns,
      [](uint64_t t, const std::pair<uint64_t, uint32_t>& x) { return t < x.first; });
  if (v == seg.versions.begin()) return nullptr;
  --v;
  if (v->first < floor) return nullptr;
  return &mappings_[v->second];
}

void ProcessMapTracker::StartGeneration(uint32_t pid, uint64_t time_ns, uint32_t parent) {
  auto& gens = pids_[pid].generations;
  auto at = std::upper_bound(gens.begin(), gens.end(), time_ns,
                             [](uint64_t t, const Generation& g) { return t < g.time_ns; });
  gens.insert(at, Generation{time_ns, parent});
  changed_pids_.push_back(pid);
}

const std::string& ProcessMapTracker::BuildIdFor(const std::string& path) {
  auto it = build_ids_.find(path);
  if (it == build_ids_.end()) {
    absl::StatusOr<std::string> id = unwind::ReadGnuBuildId(path);
    it = build_ids_.emplace(path, id.ok() ? *id : std::string()).first;
  }
  return it->second;
}

void ProcessMapTracker::Apply(const SidebandRecord& r) {
  using Kind = SidebandRecord::Kind;
  switch (r.kind) {
    case Kind::kMmap2: {
      if ((r.prot & PROT_EXEC) == 0) return;
      formats::Mapping m;
      m.pid = r.pid;
      m.time_ns = r.time_ns;
      m.start = r.addr;
      m.end = r.addr + r.len;
      m.pgoff = r.pgoff;
      m.prot = r.prot;
      m.path = r.filename;
      m.build_id = r.build_id;
      if (m.build_id.empty() && !m.path.empty() && m.path[0] == '/')
        m.build_id = BuildIdFor(m.path);
      AddMapping(std::move(m));
      return;
    }
    case Kind::kFork:
      new_tasks_.push_back(
          {formats::TaskEventKind::kFork, r.time_ns, r.pid, r.tid, r.ppid, r.ptid, {}});
      // A new process (not a thread) starts with its parent's mappings,
      // found through the generation's parent link when resolving.
      if (r.pid != r.ppid) StartGeneration(r.pid, r.time_ns, r.ppid);
      return;
    case Kind::kComm:
      new_tasks_.push_back({r.exec ? formats::TaskEventKind::kExec : formats::TaskEventKind::kComm,
                            r.time_ns, r.pid, r.tid, 0, 0, r.comm});
      if (r.exec) StartGeneration(r.pid, r.time_ns, 0);
      return;
    case Kind::kExit:
      new_tasks_.push_back(
          {formats::TaskEventKind::kExit, r.time_ns, r.pid, r.tid, r.ppid, r.ptid, {}});
      if (r.pid == r.tid) exited_pids_.push_back(r.pid);
      return;
    default:
      return;
  }
}

void ProcessMapTracker::AddProcMaps(uint32_t pid, absl::string_view maps_text, uint64_t time_ns) {
  // "start-end perms offset dev inode   path"
  for (absl::string_view line : absl::StrSplit(maps_text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 5 || f[1].size() < 4 || f[1][2] != 'x') continue;
    std::vector<absl::string_view> range = absl::StrSplit(f[0], '-');
    formats::Mapping m;
    if (range.size() != 2 || !absl::SimpleHexAtoi(range[0], &m.start) ||
        !absl::SimpleHexAtoi(range[1], &m.end) || !absl::SimpleHexAtoi(f[2], &m.pgoff)) {
      continue;
    }
    m.pid = pid;
    m.time_ns = time_ns;
    m.prot = PROT_EXEC | (f[1][0] == 'r' ? PROT_READ : 0) | (f[1][1] == 'w' ? PROT_WRITE : 0);
    if (f.size() >= 6) {
      // The path may contain spaces: take everything after the inode field.
      size_t pos = line.find(f[5], static_cast<size_t>(f[4].data() - line.data()) + f[4].size());
      m.path = std::string(line.substr(pos));
    }
    if (!m.path.empty() && m.path[0] == '/') m.build_id = BuildIdFor(m.path);
    AddMapping(std::move(m));
  }
}

absl::Status ProcessMapTracker::SynthesizeFromProc(uint32_t pid, const std::string& proc_root) {
  std::string path = absl::StrCat(proc_root, "/", pid, "/maps");
  std::ifstream in(path);
  if (!in) return LastErrnoStatus(absl::StrCat("reading ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  AddProcMaps(pid, ss.str(), 0);
  // The process's name, as a comm event at time 0, so reports can name it.
  std::ifstream comm_in(absl::StrCat(proc_root, "/", pid, "/comm"));
  std::string comm;
  if (comm_in && std::getline(comm_in, comm)) {
    new_tasks_.push_back({formats::TaskEventKind::kComm, 0, pid, pid, 0, 0, comm});
  }
  return absl::OkStatus();
}

const ProcessMapTracker::Generation* ProcessMapTracker::GenerationAt(const PidState& st,
                                                                     uint64_t time_ns) {
  auto g = std::upper_bound(st.generations.begin(), st.generations.end(), time_ns,
                            [](uint64_t t, const Generation& x) { return t < x.time_ns; });
  return g != st.generations.begin() ? &*(g - 1) : nullptr;
}

const formats::Mapping* ProcessMapTracker::Find(uint32_t pid, uint64_t time_ns, uint64_t addr,
                                                int depth) const {
  auto it = pids_.find(pid);
  if (it == pids_.end() || depth > 64) return nullptr;
  const PidState& st = it->second;
  const Generation* gen = GenerationAt(st, time_ns);
  const uint64_t floor = gen != nullptr ? gen->time_ns : 0;
  const formats::Mapping* best = nullptr;
  auto seg = st.segments.upper_bound(addr);
  if (seg != st.segments.begin()) {
    --seg;
    if (addr < seg->second.end) best = VersionAt(seg->second, time_ns, floor);
  }
  if (best == nullptr && gen != nullptr && gen->parent != 0 && gen->parent != pid) {
    return Find(gen->parent, gen->time_ns, addr, depth + 1);
  }
  return best;
}

void ProcessMapTracker::CollectMappings(uint32_t pid, uint64_t time_ns, int depth,
                                        std::vector<const formats::Mapping*>* out) const {
  auto it = pids_.find(pid);
  if (it == pids_.end() || depth > 64) return;
  const PidState& st = it->second;
  const Generation* gen = GenerationAt(st, time_ns);
  const uint64_t floor = gen != nullptr ? gen->time_ns : 0;
  auto overlaps = [](const formats::Mapping* a, const formats::Mapping* b) {
    return a->start < b->end && b->start < a->end;
  };
  // The mappings in force somewhere at time_ns (each once), newest first,
  // so that a mapping partly replaced by a later one is skipped.
  std::vector<const formats::Mapping*> visible;
  for (const auto& [start, seg] : st.segments) {
    const formats::Mapping* m = VersionAt(seg, time_ns, floor);
    if (m != nullptr && (visible.empty() || visible.back() != m)) visible.push_back(m);
  }
  std::sort(visible.begin(), visible.end(), [](auto* a, auto* b) { return a->id > b->id; });
  visible.erase(std::unique(visible.begin(), visible.end()), visible.end());
  std::stable_sort(visible.begin(), visible.end(),
                   [](auto* a, auto* b) { return a->time_ns > b->time_ns; });
  std::vector<const formats::Mapping*> own;
  for (const formats::Mapping* m : visible) {
    if (std::none_of(own.begin(), own.end(), [&](auto* o) { return overlaps(o, m); })) {
      own.push_back(m);
    }
  }
  if (gen != nullptr && gen->parent != 0 && gen->parent != pid) {
    std::vector<const formats::Mapping*> inherited;
    CollectMappings(gen->parent, gen->time_ns, depth + 1, &inherited);
    for (const formats::Mapping* m : inherited) {
      if (std::none_of(own.begin(), own.end(), [&](auto* o) { return overlaps(o, m); })) {
        own.push_back(m);
      }
    }
  }
  out->insert(out->end(), own.begin(), own.end());
}

std::vector<const formats::Mapping*> ProcessMapTracker::CurrentMappings(uint32_t pid) const {
  std::vector<const formats::Mapping*> out;
  CollectMappings(pid, UINT64_MAX, 0, &out);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->start < b->start; });
  return out;
}

std::vector<uint32_t> ProcessMapTracker::TakeChangedPids() {
  std::vector<uint32_t> out = std::exchange(changed_pids_, {});
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<uint32_t> ProcessMapTracker::TakeExitedPids() {
  return std::exchange(exited_pids_, {});
}

formats::UserFrame ProcessMapTracker::Resolve(uint32_t pid, uint64_t time_ns, uint64_t addr) const {
  const formats::Mapping* m = Find(pid, time_ns, addr, 0);
  if (m == nullptr) return {0, addr};
  return {m->id, addr - m->start + m->pgoff};
}

formats::UserFrame ProcessMapTracker::ResolveBeforeExec(uint32_t pid, uint64_t time_ns,
                                                        uint64_t addr) const {
  auto it = pids_.find(pid);
  if (it == pids_.end()) return {0, addr};
  const Generation* gen = GenerationAt(it->second, time_ns);
  if (gen == nullptr || gen->parent != 0 || gen->time_ns == 0) return {0, addr};
  return Resolve(pid, gen->time_ns - 1, addr);
}

std::vector<formats::Mapping> ProcessMapTracker::TakeNewMappings() {
  std::vector<formats::Mapping> out(mappings_.begin() + static_cast<ptrdiff_t>(mappings_written_),
                                    mappings_.end());
  mappings_written_ = mappings_.size();
  return out;
}

std::vector<formats::TaskEvent> ProcessMapTracker::TakeNewTasks() {
  return std::exchange(new_tasks_, {});
}

}  // namespace ringprof::collector
