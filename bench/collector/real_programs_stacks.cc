// Helper of bench/collector/real_programs.py: turns a ringprof recording
// into one line per sample with its symbolized user frames, and symbolizes
// (file, offset) pairs taken from `perf script` with the same symbolizer, so
// that every profiler's stacks are named by one rule.
//
//   bench_real_programs_stacks stacks REC.rpf
//     "# key value" summary lines (samples, losses, how stacks were unwound),
//     then per profile sample (samples with the same stack, pid and tid are
//     summed, as in every report):
//       S <count> <pid> <tid> <comm> <kernel frames> <user frame>...
//     tab-separated, user frames leaf first, each "<kind>:<name>": kind s is
//     a symbolized function (the function that physically holds the address:
//     inline chains are off, as in `perf script --no-inline`), u an address
//     in a known file with no symbol (name: the file's base name), n an
//     address in no known mapping (name: [unknown]).
//   bench_real_programs_stacks symbolize < LINES
//     input lines "<path>\t<file offset, hex>\t<1: a return address>", output
//     one line per input line in order: "s\t<name>" or "u\t" (no symbol, or
//     the file could not be read). A return address is looked up at offset-1,
//     as the profile builder does for every frame but the leaf.
//   bench_real_programs_stacks timeline REC.rpf
//     one line per raw sample, in file order, for diagnosis:
//       T <ms since the process's exec (else its first sample)> <pid> <tid>
//         <stop: 0 unknown 1 end 2 table miss 3 read fault 4 depth 5 bad frame>
//         <user frames> <kernel frames> <path of the leaf's mapping, or
//         "[unknown] <address>" when it is in no known mapping>
//     "E <ms since recording start> <pid> <comm>" per exec, and
//     "M <ms since recording start> <pid> <start> <end> <pgoff> <path>" per
//     mapping.
//
// Names are mangled (demangling off), like `perf script --no-demangle`.
// Not product code: a bench tool only.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "formats/profile.h"
#include "formats/recording.h"
#include "report/profile_builder.h"
#include "symbolizer/symbolizer.h"

namespace {

using ringprof::formats::Profile;

ringprof::symbolizer::SymbolizerOptions Options() {
  ringprof::symbolizer::SymbolizerOptions o;
  o.demangle = false;
  o.inlines = false;
  return o;
}

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int Stacks(const std::string& path) {
  // What LoadProfile does (every report command), keeping the recording
  // for its own counts.
  absl::StatusOr<ringprof::formats::Recording> rec = ringprof::formats::ReadRecording(path);
  if (!rec.ok()) {
    std::fprintf(stderr, "cannot read %s: %s\n", path.c_str(),
                 std::string(rec.status().message()).c_str());
    return 1;
  }
  ringprof::symbolizer::Symbolizer symbolizer(Options());
  absl::StatusOr<Profile> loaded =
      ringprof::report::BuildProfile(*rec, symbolizer, ringprof::report::BuildOptions());
  if (!loaded.ok()) {
    std::fprintf(stderr, "cannot load %s: %s\n", path.c_str(),
                 std::string(loaded.status().message()).c_str());
    return 1;
  }
  const Profile& p = *loaded;
  std::map<uint64_t, const ringprof::formats::ProfileMapping*> maps;
  for (const auto& m : p.mappings) maps[m.id] = &m;
  std::map<uint64_t, const ringprof::formats::ProfileFunction*> funcs;
  for (const auto& f : p.functions) funcs[f.id] = &f;
  std::map<uint64_t, const ringprof::formats::ProfileLocation*> locs;
  for (const auto& l : p.locations) locs[l.id] = &l;

  const auto& loss = p.loss;
  std::printf("# samples %llu\n", static_cast<unsigned long long>(p.sample_count));
  std::printf("# loss_known %d\n", p.loss_known ? 1 : 0);
  std::printf("# duration_ns %lld\n", static_cast<long long>(p.duration_nanos));
  std::printf("# start_time_ns %llu\n", static_cast<unsigned long long>(rec->start_time_ns));
  auto put = [](const char* k, uint64_t v) {
    std::printf("# %s %llu\n", k, static_cast<unsigned long long>(v));
  };
  put("lost_samples", loss.lost_samples);
  put("lost_perf_records", loss.lost_perf_records);
  put("throttle_events", loss.throttle_events);
  put("kernel_truncated", loss.kernel_truncated);
  put("user_truncated", loss.user_truncated);
  put("user_stack_failed", loss.user_stack_failed);
  put("unmapped_user_frames", loss.unmapped_user_frames);
  put("unwind_tables_loaded", loss.unwind_tables_loaded);
  put("unwind_tables_evicted", loss.unwind_tables_evicted);
  put("unwind_binaries_without_table", loss.unwind_binaries_without_table);
  put("unwind_tables_too_big", loss.unwind_tables_too_big);
  put("bad_ring_records", loss.bad_ring_records);
  put("deferred_walks", loss.deferred_walks);
  put("deferred_copies_lost", loss.deferred_copies_lost);
  put("unsymbolized_frames", p.unsymbolized_frames);
  put("mappings_in_profile", p.mappings.size());
  put("mappings_recorded", rec->mappings.size());
  put("task_events", rec->tasks.size());
  uint64_t no_method = 0, stop_miss_no_method = 0;
  uint64_t raw_stop[8] = {};
  for (const auto& s : rec->samples) {
    ++raw_stop[static_cast<unsigned>(ringprof::formats::SampleStop(s.flags)) & 7];
    if ((s.flags & ringprof::formats::kSampleUnwoundMask) == 0) {
      ++no_method;
      if (ringprof::formats::SampleStop(s.flags) == ringprof::formats::UnwindStop::kMiss)
        ++stop_miss_no_method;
    }
  }
  // Samples the report's "unwound by" / "ended at" lines leave out (no
  // method bit), and how many of them still say "table miss".
  uint64_t first = UINT64_MAX, last = 0;
  for (const auto& s : rec->samples) {
    first = std::min(first, s.time_ns);
    last = std::max(last, s.time_ns);
  }
  if (!rec->samples.empty()) {
    // Relative to the recording's start time (META), in ms.
    std::printf(
        "# first_sample_ms %lld\n",
        static_cast<long long>(
            (static_cast<int64_t>(first) - static_cast<int64_t>(rec->start_time_ns)) / 1000000));
    std::printf(
        "# last_sample_ms %lld\n",
        static_cast<long long>(
            (static_cast<int64_t>(last) - static_cast<int64_t>(rec->start_time_ns)) / 1000000));
  }
  put("samples_without_method", no_method);
  put("table_miss_without_method", stop_miss_no_method);
  // Why each raw sample's user walk ended, from its flags (all samples).
  const char* stops[] = {"unknown", "end",       "table_miss", "read_fault",
                         "depth",   "bad_frame", "copy_lost"};
  static_assert(std::size(stops) == std::size(ringprof::formats::UnwindSummary{}.by_stop));
  for (size_t i = 0; i < std::size(stops); ++i)
    std::printf("# raw_stop_%s %llu\n", stops[i], static_cast<unsigned long long>(raw_stop[i]));
  const char* methods[] = {"sframe", "eh_frame", "fp", "dwarf", "mixed", "none"};
  static_assert(std::size(methods) == ringprof::formats::UnwindSummary::kNumMethods);
  for (size_t i = 0; i < std::size(methods); ++i)
    std::printf("# unwound_by_%s %llu\n", methods[i],
                static_cast<unsigned long long>(p.unwind.by_method[i]));
  for (size_t i = 0; i < std::size(stops); ++i)
    std::printf("# unwind_stop_%zu %llu\n", i,
                static_cast<unsigned long long>(p.unwind.by_stop[i]));
  std::printf("# damaged %d\n", p.damage.empty() ? 0 : 1);

  for (const auto& s : p.samples) {
    int64_t count = s.values.empty() ? 0 : s.values[0];
    int64_t pid = 0, tid = 0;
    std::string comm;
    for (const auto& l : s.labels) {
      if (l.key == "pid") pid = l.num;
      if (l.key == "tid") tid = l.num;
      if (l.key == "comm") comm = l.str;
    }
    size_t kernel = 0;
    std::string line = "S\t" + std::to_string(count) + "\t" + std::to_string(pid) + "\t" +
                       std::to_string(tid) + "\t" + comm;
    std::string user;
    for (uint64_t id : s.location_ids) {
      const auto* loc = locs.at(id);
      const ringprof::formats::ProfileMapping* m =
          loc->mapping_id != 0 ? maps.at(loc->mapping_id) : nullptr;
      if (m != nullptr && ringprof::report::IsKernelMapping(*m)) {
        ++kernel;
        continue;
      }
      // lines.back() is the function that holds the address (one line with
      // inlines off). An offset-named function ("file+0x...") is unsymbolized.
      std::string name = loc->lines.empty() ? "" : funcs.at(loc->lines.back().function_id)->name;
      char kind = 's';
      if (m == nullptr) {
        kind = 'n';
        name = "[unknown]";
      } else if (name.empty() || name.rfind(Basename(m->filename) + "+0x", 0) == 0) {
        kind = 'u';
        name = Basename(m->filename);
      }
      user += "\t";
      user += kind;
      user += ":";
      user += name;
    }
    std::printf("%s\t%zu%s\n", line.c_str(), kernel, user.c_str());
  }
  return 0;
}

int Timeline(const std::string& path) {
  absl::StatusOr<ringprof::formats::Recording> rec = ringprof::formats::ReadRecording(path);
  if (!rec.ok()) {
    std::fprintf(stderr, "cannot read %s: %s\n", path.c_str(),
                 std::string(rec.status().message()).c_str());
    return 1;
  }
  std::map<uint32_t, uint64_t> since;  // pid -> its last exec before the sample (or first sample)
  std::vector<const ringprof::formats::TaskEvent*> execs;
  for (const auto& t : rec->tasks) {
    if (t.kind == ringprof::formats::TaskEventKind::kExec) execs.push_back(&t);
  }
  std::sort(execs.begin(), execs.end(),
            [](const auto* a, const auto* b) { return a->time_ns < b->time_ns; });
  for (const auto* e : execs) {
    std::printf("E\t%.3f\t%u\t%s\n", (e->time_ns - rec->start_time_ns) / 1e6, e->pid,
                e->comm.c_str());
  }
  std::map<uint32_t, const ringprof::formats::Mapping*> maps;
  for (const auto& m : rec->mappings) {
    maps[m.id] = &m;
    std::printf("M\t%.3f\t%u\t0x%llx\t0x%llx\t0x%llx\t%s\n",
                (static_cast<double>(m.time_ns) - rec->start_time_ns) / 1e6, m.pid,
                static_cast<unsigned long long>(m.start), static_cast<unsigned long long>(m.end),
                static_cast<unsigned long long>(m.pgoff), m.path.c_str());
  }
  for (const auto& s : rec->samples) {
    uint64_t start = 0;
    for (const auto* e : execs) {
      if (e->pid == s.pid && e->time_ns <= s.time_ns) start = e->time_ns;
    }
    if (start == 0) start = since.try_emplace(s.pid, s.time_ns).first->second;
    std::string leaf = "-";
    if (!s.user_frames.empty()) {
      auto m = maps.find(s.user_frames[0].mapping_id);
      char raw[32];
      std::snprintf(raw, sizeof(raw), "0x%llx",
                    static_cast<unsigned long long>(s.user_frames[0].address));
      leaf = m == maps.end() ? std::string("[unknown] ") + raw : m->second->path;
    }
    std::printf("T\t%.3f\t%u\t%u\t%u\t%zu\t%zu\t%s\n", (s.time_ns - start) / 1e6, s.pid, s.tid,
                static_cast<unsigned>(ringprof::formats::SampleStop(s.flags)), s.user_frames.size(),
                s.kernel_ips.size(), leaf.c_str());
  }
  return 0;
}

int Symbolize() {
  struct Query {
    std::string path;
    uint64_t offset;
  };
  std::vector<Query> queries;
  std::map<std::string, std::vector<uint64_t>> by_path;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    uint64_t off = 0;
    if (f.size() < 3 || !absl::SimpleHexAtoi(f[1], &off)) {
      std::fprintf(stderr, "bad input line: %s\n", line.c_str());
      return 1;
    }
    if (f[2] == "1" && off > 0) --off;
    queries.push_back({f[0], off});
    by_path[f[0]].push_back(off);
  }
  ringprof::symbolizer::Symbolizer sym(Options());
  std::map<std::string, std::map<uint64_t, std::string>> names;
  for (auto& [path, offsets] : by_path) {
    std::vector<ringprof::symbolizer::SymbolizedAddress> r =
        sym.SymbolizeFileOffsets("", path, offsets);
    auto& out = names[path];
    for (size_t i = 0; i < offsets.size() && i < r.size(); ++i) {
      if (!r[i].frames.empty() && !r[i].frames.back().function.empty())
        out[offsets[i]] = r[i].frames.back().function;
    }
  }
  for (const Query& q : queries) {
    const auto& out = names[q.path];
    auto it = out.find(q.offset);
    if (it == out.end()) {
      std::printf("u\t\n");
    } else {
      std::printf("s\t%s\n", it->second.c_str());
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "stacks" && argc == 3) return Stacks(argv[2]);
  if (mode == "symbolize" && argc == 2) return Symbolize();
  if (mode == "timeline" && argc == 3) return Timeline(argv[2]);
  std::fprintf(stderr,
               "usage: %s stacks REC.rpf | %s timeline REC.rpf | "
               "%s symbolize < 'PATH\\tHEXOFF\\tISRET' lines\n",
               argv[0], argv[0], argv[0]);
  return 2;
}
