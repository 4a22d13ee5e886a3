#include "report/profile_builder.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/escape.h"
#include "base/status_macros.h"
#include "report/counter_bursts.h"
#include "report/table.h"

namespace ringprof::report {
namespace {

using formats::Recording;
using formats::Sample;
using formats::TaskEvent;
using formats::TaskEventKind;

// bpf_get_stack / perf callchains may carry PERF_CONTEXT_* markers, which are
// the top 4095 values of the address space; they are not frames.
constexpr uint64_t kPerfContextMax = static_cast<uint64_t>(-4095);

std::string_view Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string OffsetName(std::string_view base, uint64_t offset) {
  return absl::StrCat(Sv(base), "+0x", absl::Hex(offset));
}

// How functions are named (docs/REPORTS.md, "How functions are named"):
// the symbolizer picks the public alias (symbolizer/symbol_names.h); here,
// a function of a mapping that has no file of its own ("[vdso]") carries
// the mapping's name after it, "clock_gettime [vdso]", the way kernel
// module functions read "ext4_fill_super [ext4]". Without it a vDSO frame
// under libc's wrapper reads "clock_gettime;clock_gettime", libc calling
// itself. The tag is part of the function's name in every output (table,
// flame graph, folded stacks, diff, pprof); the pprof Function's
// system_name keeps the plain symbol name.
std::string_view SpecialMappingTag(std::string_view path) {
  return path.size() > 2 && path.front() == '[' && path.back() == ']' ? path : std::string_view();
}

// The comm of each process over time, from the recording's task events.
// A process's comm is set by comm/exec events of its main thread; a forked
// process starts with its parent's comm. Thread renames are used only for a
// process that has no process-level comm at all.
class CommTimeline {
 public:
  explicit CommTimeline(const std::vector<TaskEvent>& tasks) {
    std::vector<const TaskEvent*> order;
    order.reserve(tasks.size());
    for (const TaskEvent& t : tasks) order.push_back(&t);
    std::stable_sort(order.begin(), order.end(), [](const TaskEvent* a, const TaskEvent* b) {
      return a->time_ns < b->time_ns;
    });
    for (const TaskEvent* t : order) {
      switch (t->kind) {
        case TaskEventKind::kComm:
        case TaskEventKind::kExec:
          if (t->kind == TaskEventKind::kExec || t->tid == t->pid || t->tid == 0) {
            process_[t->pid].emplace_back(t->time_ns, t->comm);
          } else {
            thread_[t->pid].emplace_back(t->time_ns, t->comm);
          }
          break;
        case TaskEventKind::kFork:
          if (t->pid != t->ppid) {
            auto parent = process_.find(t->ppid);
            if (parent != process_.end() && !parent->second.empty()) {
              std::string comm = parent->second.back().second;
              process_[t->pid].emplace_back(t->time_ns, std::move(comm));
            }
          }
          break;
        case TaskEventKind::kExit:
          break;
      }
    }
  }

  // The comm in effect for `pid` at `time_ns`; the earliest known one when
  // the sample predates every event; nullptr when the pid has none.
  const std::string* CommAt(uint32_t pid, uint64_t time_ns) const {
    const Timeline* found = nullptr;
    if (auto p = process_.find(pid); p != process_.end()) {
      found = &p->second;
    } else if (auto t = thread_.find(pid); t != thread_.end()) {
      found = &t->second;
    }
    if (found == nullptr || found->empty()) return nullptr;
    const Timeline& v = *found;
    auto after = std::upper_bound(v.begin(), v.end(), time_ns,
                                  [](uint64_t t, const auto& e) { return t < e.first; });
    return after == v.begin() ? &v.front().second : &std::prev(after)->second;
  }

 private:
  using Timeline = std::vector<std::pair<uint64_t, std::string>>;
  absl::flat_hash_map<uint32_t, Timeline> process_;
  absl::flat_hash_map<uint32_t, Timeline> thread_;
};

class ProfileBuilder {
 public:
  ProfileBuilder(const Recording& rec, symbolizer::Symbolizer& sym, const BuildOptions& options)
      : rec_(rec), sym_(sym), options_(options), comms_(rec.tasks) {}

  absl::StatusOr<formats::Profile> Build() {
    for (const formats::Mapping& m : rec_.mappings) {
      mapping_by_id_.emplace(m.id, &m);
      kernel_mapping_id_ = std::max<uint64_t>(kernel_mapping_id_, m.id);
    }
    ++kernel_mapping_id_;
    SelectSamples();
    SetSampleTypes();
    CollectUserFrames();
    for (const symbolizer::FileProblem& f : sym_.problems()) problem_base_.push_back(f.addresses);
    SymbolizeUser();
    CollectKernelFrames();  // after SymbolizeUser, which finds the 32-bit files
    SymbolizeKernel();
    EmitMappings();
    EmitSamples();
    SetSummary();
    return std::move(profile_);
  }

 private:
  // A user location: recording mapping id, file offset (or raw address when
  // unmapped), and whether it is a return address.
  using UserKey = std::tuple<uint32_t, uint64_t, bool>;
  // A kernel location: address, whether it is a return address, and the
  // ABI of the task (the name of a syscall entry point depends on it).
  using KernelKey = std::tuple<uint64_t, bool, symbolizer::TaskAbi>;

  void SelectSamples() {
    selected_.reserve(rec_.samples.size());
    for (const Sample& s : rec_.samples) {
      if (options_.pid != 0 && s.pid != options_.pid) continue;
      const std::string* comm = comms_.CommAt(s.pid, s.time_ns);
      if (!options_.comm.empty() && (comm == nullptr || *comm != options_.comm)) continue;
      selected_.push_back({&s, comm});
    }
  }

  void AddSampleType(std::string_view raw_type, std::string_view raw_unit) {
    const std::string type = EscapeText(raw_type);
    std::string unit = EscapeText(raw_unit);
    std::string name = type;
    for (int n = 2; !type_names_.insert(name).second; ++n) name = absl::StrCat(type, "#", n);
    profile_.sample_types.push_back({std::move(name), unit.empty() ? "count" : std::move(unit)});
  }

  void SetSampleTypes() {
    AddSampleType("samples", "count");
    for (size_t i = 0; i < rec_.events.size(); ++i) {
      const formats::EventDesc& e = rec_.events[i];
      AddSampleType(e.name.empty() ? absl::StrCat("event", i) : e.name, e.unit);
    }
    for (size_t i = 0; i < rec_.counters.size(); ++i) {
      const formats::EventDesc& c = rec_.counters[i];
      AddSampleType(c.name.empty() ? absl::StrCat("counter", i) : c.name, c.unit);
      profile_.counter_types.push_back(profile_.sample_types.back().type);
    }
    profile_.counter_scaling = rec_.counter_scaling;
    profile_.default_sample_type = "samples";
    if (!rec_.events.empty()) {
      const formats::EventDesc& e = rec_.events[0];
      profile_.period_type = profile_.sample_types[1];
      if (!e.freq) {
        profile_.period = static_cast<int64_t>(e.sample_freq_or_period);
      } else {
        // Frequency mode: the kernel adjusts the period; report the mean.
        uint64_t sum = 0, n = 0;
        for (const auto& [s, comm] : selected_) {
          if (s->event_index == 0 && s->period != 0) {
            sum += s->period;
            ++n;
          }
        }
        profile_.period = n == 0 ? 0 : static_cast<int64_t>(sum / n);
      }
    }
  }

  static bool IsFrame(uint64_t ip) { return ip != 0 && ip < kPerfContextMax; }

  void CollectUserFrames() {
    for (const auto& [s, comm] : selected_) {
      for (size_t i = 0; i < s->user_frames.size(); ++i) {
        const formats::UserFrame& f = s->user_frames[i];
        user_locs_.try_emplace(UserKey{f.mapping_id, f.address, i != 0}, 0);
      }
    }
  }

  void CollectKernelFrames() {
    for (const auto& [s, comm] : selected_) {
      const symbolizer::TaskAbi abi = AbiOf(*s);
      for (size_t i = 0; i < s->kernel_ips.size(); ++i) {
        if (!IsFrame(s->kernel_ips[i])) continue;
        kernel_locs_.try_emplace(KernelKey{s->kernel_ips[i], i != 0, abi}, 0);
      }
    }
  }

  // A sample's task is 32-bit when its innermost user frame lies in a
  // 32-bit ELF; otherwise (64-bit code, no user frames, files not found)
  // it is taken as 64-bit.
  symbolizer::TaskAbi AbiOf(const Sample& s) const {
    for (const formats::UserFrame& f : s.user_frames) {
      if (!mapping_by_id_.contains(f.mapping_id)) continue;
      return elf32_mappings_.contains(f.mapping_id) ? symbolizer::TaskAbi::k32
                                                    : symbolizer::TaskAbi::k64;
    }
    return symbolizer::TaskAbi::k64;
  }

  // Takes raw names (from the symbolizer, or made from raw paths) and
  // escapes them: the one place function names enter the profile.
  uint64_t InternFunction(std::string_view raw_name, std::string_view raw_system_name,
                          std::string_view raw_file) {
    std::string name = EscapeText(raw_name);
    std::string system_name = EscapeText(raw_system_name);
    std::string file = EscapeText(raw_file);
    auto key = std::make_tuple(name, system_name, file);
    auto [it, inserted] = function_ids_.try_emplace(key, profile_.functions.size() + 1);
    if (inserted) {
      formats::ProfileFunction f;
      f.id = it->second;
      f.name = std::move(name);
      f.system_name = system_name.empty() ? f.name : std::move(system_name);
      f.filename = std::move(file);
      profile_.functions.push_back(std::move(f));
    }
    return it->second;
  }

  uint64_t AddLocation(uint64_t mapping_id, uint64_t address,
                       std::vector<formats::ProfileLine> lines) {
    formats::ProfileLocation loc;
    loc.id = profile_.locations.size() + 1;
    loc.mapping_id = mapping_id;
    loc.address = address;
    loc.lines = std::move(lines);
    profile_.locations.push_back(std::move(loc));
    return profile_.locations.back().id;
  }

  // Lines for a symbolized chain, or an offset-named function when empty.
  // `tag`, when not empty, follows each function name ("[vdso]").
  std::vector<formats::ProfileLine> LinesFor(const symbolizer::SymbolizedAddress& r,
                                             std::string_view base, uint64_t offset,
                                             uint64_t mapping_id, std::string_view tag = {}) {
    std::vector<formats::ProfileLine> lines;
    bool named = false;
    for (const symbolizer::SourceFrame& f : r.frames) {
      if (f.function.empty()) continue;
      named = true;
      const std::string name = tag.empty() ? f.function : absl::StrCat(f.function, " ", Sv(tag));
      const std::string& system_name = f.linkage_name.empty() ? f.function : f.linkage_name;
      lines.push_back({InternFunction(name, system_name, f.file), f.line});
      MappingFlags& flags = flags_[mapping_id];
      flags.functions = true;
      flags.filenames |= !f.file.empty();
      flags.lines |= f.line > 0;
    }
    if (!named) {
      lines.clear();
      lines.push_back({InternFunction(OffsetName(base, offset), "", ""), 0});
      unsymbolized_locations_.insert(profile_.locations.size() + 1);
    }
    return lines;
  }

  void SymbolizeUser() {
    // Group by file so each ELF is searched once, with all its offsets.
    struct FileBatch {
      const formats::Mapping* mapping = nullptr;  // any mapping of the file
      std::vector<uint64_t> offsets;              // unique, to symbolize
      absl::flat_hash_map<uint64_t, size_t> index;
      std::vector<symbolizer::SymbolizedAddress> results;
      bool elf32 = false;
    };
    absl::flat_hash_map<std::string, FileBatch> files;
    auto file_key = [](const formats::Mapping& m) {
      return absl::StrCat(m.build_id, absl::string_view("\0", 1), m.path);
    };
    // Sorted keys keep location ids deterministic.
    std::vector<UserKey> keys;
    keys.reserve(user_locs_.size());
    for (const auto& [k, id] : user_locs_) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    for (const UserKey& k : keys) {
      auto m = mapping_by_id_.find(std::get<0>(k));
      if (m == mapping_by_id_.end()) continue;
      FileBatch& b = files[file_key(*m->second)];
      b.mapping = m->second;
      uint64_t off = std::get<1>(k) - (std::get<2>(k) && std::get<1>(k) > 0 ? 1 : 0);
      if (b.index.try_emplace(off, b.offsets.size()).second) b.offsets.push_back(off);
    }
    for (auto& [key, b] : files) {
      std::string path = b.mapping->path;
      // A mapping with no file (the vDSO) is symbolized against the image
      // the recording stored under its name, if any (the first of a name).
      auto image = std::find_if(rec_.images.begin(), rec_.images.end(),
                                [&](const formats::Image& i) { return i.name == path; });
      if (image != rec_.images.end()) {
        absl::StatusOr<std::string> image_path = sym_.ImagePath(image->bytes);
        if (!image_path.ok()) {
          b.results.assign(b.offsets.size(),
                           symbolizer::SymbolizedAddress{{}, image_path.status()});
          continue;
        }
        path = *image_path;
      }
      b.results = sym_.SymbolizeFileOffsets(b.mapping->build_id, path, b.offsets);
      b.results.resize(b.offsets.size());  // defensive: one result per offset
      b.elf32 = sym_.Is32Bit(b.mapping->build_id, path).value_or(false);
    }
    for (const UserKey& k : keys) {
      auto [mapping_id, offset, is_return] = k;
      auto m = mapping_by_id_.find(mapping_id);
      if (m == mapping_by_id_.end()) {
        // No known mapping: the value is a raw virtual address.
        std::string name = mapping_id == 0
                               ? OffsetName("[unmapped]", offset)
                               : OffsetName(absl::StrCat("[mapping ", mapping_id, "]"), offset);
        unsymbolized_locations_.insert(profile_.locations.size() + 1);
        user_locs_[k] = AddLocation(0, offset, {{InternFunction(name, "", ""), 0}});
        continue;
      }
      const formats::Mapping& map = *m->second;
      const FileBatch& b = files[file_key(map)];
      uint64_t off = offset - (is_return && offset > 0 ? 1 : 0);
      const symbolizer::SymbolizedAddress& r = b.results[b.index.at(off)];
      uint64_t address = offset >= map.pgoff ? map.start + (offset - map.pgoff) : offset;
      used_mappings_.insert(mapping_id);
      if (b.elf32) elf32_mappings_.insert(mapping_id);
      user_locs_[k] = AddLocation(
          mapping_id, address,
          LinesFor(r, Basename(map.path), offset, mapping_id, SpecialMappingTag(map.path)));
    }
  }

  void SymbolizeKernel() {
    if (kernel_locs_.empty()) return;
    absl::StatusOr<symbolizer::KernelSymbols> ksyms = absl::NotFoundError("no kallsyms snapshot");
    if (!rec_.kallsyms.empty()) {
      ksyms = symbolizer::KernelSymbols::Parse(
          rec_.kallsyms, formats::KallsymsIsSubset(rec_) ? symbolizer::KallsymsSnapshot::kSubset
                                                         : symbolizer::KallsymsSnapshot::kWhole);
    }
    if (!ksyms.ok()) kernel_symbols_error_ = std::string(ksyms.status().message());
    std::vector<KernelKey> keys;
    keys.reserve(kernel_locs_.size());
    for (const auto& [k, id] : kernel_locs_) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    kernel_start_ = std::get<0>(keys.front());
    for (const KernelKey& k : keys) {
      auto [ip, is_return, abi] = k;
      kernel_start_ = std::min(kernel_start_, ip);
      kernel_limit_ = std::max(kernel_limit_, ip + 1);
      symbolizer::SymbolizedAddress r;
      if (ksyms.ok()) r = ksyms->Lookup(is_return ? ip - 1 : ip, abi);
      kernel_locs_[k] = AddLocation(kernel_mapping_id_, ip,
                                    LinesFor(r, kKernelMappingName, ip, kernel_mapping_id_));
    }
  }

  void EmitMappings() {
    // mappings[0] must be the main binary. Prefer the most used mapping that
    // is not a shared library; fall back to the most used one.
    absl::flat_hash_map<uint32_t, uint64_t> uses;
    for (const auto& [s, comm] : selected_) {
      for (const formats::UserFrame& f : s->user_frames) ++uses[f.mapping_id];
    }
    std::vector<uint32_t> ids(used_mappings_.begin(), used_mappings_.end());
    std::sort(ids.begin(), ids.end());
    auto is_library = [&](uint32_t id) {
      std::string_view base = Basename(mapping_by_id_.at(id)->path);
      return base.find(".so") != std::string_view::npos || base.starts_with("[");
    };
    auto better = [&](uint32_t a, uint32_t b) {
      return std::make_tuple(!is_library(a), uses[a]) > std::make_tuple(!is_library(b), uses[b]);
    };
    if (!ids.empty()) {
      auto main = std::min_element(ids.begin(), ids.end(),
                                   [&](uint32_t a, uint32_t b) { return better(a, b); });
      std::rotate(ids.begin(), main, main + 1);
    }
    for (uint32_t id : ids) {
      const formats::Mapping& m = *mapping_by_id_.at(id);
      formats::ProfileMapping pm;
      pm.id = id;
      pm.memory_start = m.start;
      pm.memory_limit = m.end;
      pm.file_offset = m.pgoff;
      pm.filename = EscapeText(m.path);
      pm.build_id = absl::BytesToHexString(m.build_id);
      ApplyFlags(pm);
      profile_.mappings.push_back(std::move(pm));
    }
    if (!kernel_locs_.empty()) {
      formats::ProfileMapping pm;
      pm.id = kernel_mapping_id_;
      pm.memory_start = kernel_start_;
      pm.memory_limit = kernel_limit_;
      pm.filename = kKernelMappingName;
      if (rec_.kernel) pm.build_id = absl::BytesToHexString(rec_.kernel->build_id);
      ApplyFlags(pm);
      profile_.mappings.push_back(std::move(pm));
    }
  }

  void ApplyFlags(formats::ProfileMapping& pm) {
    auto it = flags_.find(pm.id);
    if (it == flags_.end()) return;
    pm.has_functions = it->second.functions;
    pm.has_filenames = it->second.filenames;
    pm.has_line_numbers = it->second.lines;
    pm.has_inline_frames = it->second.functions && sym_.options().inlines;
  }

  void CountUnwind(const Sample& s) {
    using U = formats::UnwindSummary;
    U& u = profile_.unwind;
    if (s.user_frames.empty()) {
      ++u.no_user_stack;
      return;
    }
    ++u.with_user_stack;
    if (s.user_frames.size() == 1) ++u.leaf_only;
    const uint32_t methods = s.flags & formats::kSampleUnwoundMask;
    const auto stop = static_cast<size_t>(formats::SampleStop(s.flags));
    if (methods != 0 || stop != 0) ++u.recorded;
    U::Method m = U::kMixed;
    if (methods == 0) m = U::kNone;
    if (methods == formats::kSampleUnwoundSframe) m = U::kSframe;
    if (methods == formats::kSampleUnwoundEhFrame) m = U::kEhFrame;
    if (methods == formats::kSampleUnwoundFp) m = U::kFp;
    if (methods == formats::kSampleUnwoundDwarf) m = U::kDwarf;
    ++u.by_method[m];
    ++u.by_stop[stop < std::size(u.by_stop) ? stop : 0];
  }

  void EmitSamples() {
    const size_t num_events = rec_.events.size();
    const size_t num_values = profile_.sample_types.size();
    absl::flat_hash_map<std::string, size_t> index;  // aggregation key -> sample
    std::string key;
    for (const auto& [s, comm] : selected_) {
      CountUnwind(*s);
      formats::ProfileSample out;
      out.location_ids.reserve(s->kernel_ips.size() + s->user_frames.size());
      const symbolizer::TaskAbi abi = s->kernel_ips.empty() ? symbolizer::TaskAbi::k64 : AbiOf(*s);
      for (size_t i = 0; i < s->kernel_ips.size(); ++i) {
        if (!IsFrame(s->kernel_ips[i])) continue;
        uint64_t id = kernel_locs_.at(KernelKey{s->kernel_ips[i], i != 0, abi});
        if (unsymbolized_locations_.contains(id)) ++profile_.unsymbolized_frames;
        out.location_ids.push_back(id);
      }
      for (size_t i = 0; i < s->user_frames.size(); ++i) {
        const formats::UserFrame& f = s->user_frames[i];
        uint64_t id = user_locs_.at(UserKey{f.mapping_id, f.address, i != 0});
        if (unsymbolized_locations_.contains(id) && f.mapping_id != 0)
          ++profile_.unsymbolized_frames;
        out.location_ids.push_back(id);
      }
      out.values.assign(num_values, 0);
      out.values[0] = 1;
      if (s->event_index < num_events)
        out.values[1 + s->event_index] = static_cast<int64_t>(s->period);
      for (size_t i = 0; i < s->counter_deltas.size() && i < rec_.counters.size(); ++i)
        out.values[1 + num_events + i] = static_cast<int64_t>(s->counter_deltas[i]);

      if (options_.aggregate) {
        key.clear();
        absl::StrAppend(&key, s->pid, ",", s->tid, ",", comm ? *comm : "", ",");
        for (uint64_t id : out.location_ids) absl::StrAppend(&key, id, ";");
        auto [it, inserted] = index.try_emplace(key, profile_.samples.size());
        if (!inserted) {
          formats::ProfileSample& agg = profile_.samples[it->second];
          for (size_t v = 0; v < num_values; ++v) agg.values[v] += out.values[v];
          continue;
        }
      }
      out.labels.push_back({"pid", "", static_cast<int64_t>(s->pid), true});
      out.labels.push_back({"tid", "", static_cast<int64_t>(s->tid), true});
      if (comm != nullptr) out.labels.push_back({"comm", EscapeText(*comm), 0, false});
      profile_.samples.push_back(std::move(out));
    }
  }

  // Counters whose bursts are shorter than the sampling period
  // (report/counter_bursts.h).
  void AddCounterBurstWarnings() {
    std::vector<const Sample*> samples;
    samples.reserve(selected_.size());
    for (const auto& [s, comm] : selected_) samples.push_back(s);
    for (const CounterBurst& b : FindCounterBursts(samples, rec_.counters.size())) {
      // About as many samples as the recording has now, at a round period.
      uint64_t period = 1;
      for (uint64_t per_sample = b.total / std::max<size_t>(1, samples.size());
           period * 10 <= per_sample;) {
        period *= 10;
      }
      profile_.warnings.push_back(
          CounterBurstWarning(b, EscapeText(rec_.counters[b.counter].name), period));
    }
  }

  void SetSummary() {
    for (const formats::EventDesc& e : rec_.events)
      profile_.event_names.push_back(EscapeText(e.name));
    profile_.sample_count = selected_.size();
    profile_.loss = rec_.loss;
    profile_.loss_known = rec_.stats_present;
    profile_.events_known = rec_.meta_present;
    profile_.duration_known = rec_.meta_present;
    profile_.damage = rec_.damage;
    for (std::string& m : profile_.damage.messages) m = EscapeText(m);
    // Without META the start time is 0, not a time: fall back to the samples.
    if (rec_.meta_present && rec_.end_time_ns > rec_.start_time_ns) {
      profile_.duration_nanos = static_cast<int64_t>(rec_.end_time_ns - rec_.start_time_ns);
    } else if (!selected_.empty()) {
      auto [lo, hi] = std::minmax_element(
          selected_.begin(), selected_.end(),
          [](const auto& a, const auto& b) { return a.first->time_ns < b.first->time_ns; });
      profile_.duration_nanos = static_cast<int64_t>(hi->first->time_ns - lo->first->time_ns);
    }
    std::vector<std::string> counter_names;
    for (const formats::EventDesc& c : rec_.counters) counter_names.push_back(EscapeText(c.name));
    AddCounterBurstWarnings();
    auto& c = profile_.comments;
    for (const std::string& w : profile_.warnings) c.push_back(absl::StrCat("warning: ", w));
    c.push_back(absl::StrCat(
        "ringprof: ", profile_.sample_count,
        " samples; events: ", absl::StrJoin(profile_.event_names, ", "),
        counter_names.empty() ? "" : "; counters: ", absl::StrJoin(counter_names, ", ")));
    for (size_t i = 0; i < profile_.counter_types.size() && i < rec_.counter_scaling.size(); ++i)
      c.push_back(absl::StrCat("counter ", profile_.counter_types[i], ": ",
                               CounterScalingText(rec_.counter_scaling[i])));
    if (auto it = rec_.meta.find("command"); it != rec_.meta.end())
      c.push_back(absl::StrCat("command: ", EscapeText(it->second)));
    if (options_.pid != 0 || !options_.comm.empty())
      c.push_back(absl::StrCat("filter: pid=", options_.pid, " comm=", EscapeText(options_.comm),
                               " (", rec_.samples.size() - selected_.size(), " samples left out)"));
    const formats::LossStats& l = rec_.loss;
    if (!rec_.stats_present) {
      c.push_back(absl::StrCat("lost: unknown (no STATS chunk) unsymbolized-frames=",
                               profile_.unsymbolized_frames));
    } else {
      c.push_back(absl::StrCat(
          "lost: samples=", l.lost_samples, " side-band-records=", l.lost_perf_records,
          " bad-ring-records=", l.bad_ring_records, " throttle-events=", l.throttle_events,
          " kernel-truncated=", l.kernel_truncated, " user-truncated=", l.user_truncated,
          " user-stack-failed=", l.user_stack_failed, " unmapped-frames=", l.unmapped_user_frames,
          " unsymbolized-frames=", profile_.unsymbolized_frames));
    }
    if (const formats::UnwindSummary& u = profile_.unwind; u.with_user_stack > 0) {
      c.push_back(absl::StrCat(
          "user stacks unwound by: sframe=", u.by_method[u.kSframe],
          " eh_frame=", u.by_method[u.kEhFrame], " fp=", u.by_method[u.kFp],
          " dwarf=", u.by_method[u.kDwarf], " mixed=", u.by_method[u.kMixed],
          " leaf-only=", u.by_method[u.kNone], "; ended at: end=", u.by_stop[1],
          " table-miss=", u.by_stop[2], " read-fault=", u.by_stop[3], " depth-limit=", u.by_stop[4],
          " bad-frame=", u.by_stop[5], " copy-lost=", u.by_stop[6], " not-recorded=", u.by_stop[0],
          " no-user-stack=", u.no_user_stack, "; unwind tables: loaded=", l.unwind_tables_loaded,
          " evicted=", l.unwind_tables_evicted,
          " without-table=", l.unwind_binaries_without_table));
    }
    if (!kernel_symbols_error_.empty())
      c.push_back(
          absl::StrCat("kernel frames not symbolized: ", EscapeText(kernel_symbols_error_)));
    // Files that were missing, refused (not ELF, truncated) or whose DWARF
    // is undecodable, with the addresses of this profile each one cost
    // (the Symbolizer may have served earlier profiles too).
    std::vector<std::string> problems;
    const std::vector<symbolizer::FileProblem>& all = sym_.problems();
    for (size_t i = 0; i < all.size(); ++i) {
      const uint64_t before = i < problem_base_.size() ? problem_base_[i] : 0;
      if (all[i].addresses == before) continue;
      problems.push_back(
          absl::StrCat("symbolizer: ", EscapeText(std::string(all[i].status.message())), " (",
                       all[i].addresses - before, " addresses)"));
    }
    std::sort(problems.begin(), problems.end());  // files are met in hash order
    for (std::string& p : problems) c.push_back(std::move(p));
    for (const std::string& m : profile_.damage.messages)
      c.push_back(absl::StrCat("recording is damaged: ", m));
  }

  struct MappingFlags {
    bool functions = false, filenames = false, lines = false;
  };

  const Recording& rec_;
  symbolizer::Symbolizer& sym_;
  const BuildOptions& options_;
  CommTimeline comms_;
  formats::Profile profile_;

  std::vector<std::pair<const Sample*, const std::string*>> selected_;  // sample, comm
  absl::flat_hash_set<std::string> type_names_;
  absl::flat_hash_map<uint32_t, const formats::Mapping*> mapping_by_id_;
  absl::flat_hash_map<UserKey, uint64_t> user_locs_;      // -> location id
  absl::flat_hash_map<KernelKey, uint64_t> kernel_locs_;  // -> location id
  absl::flat_hash_set<uint32_t> used_mappings_;
  absl::flat_hash_set<uint32_t> elf32_mappings_;  // mappings of 32-bit ELF files
  absl::flat_hash_map<uint64_t, MappingFlags> flags_;
  absl::flat_hash_set<uint64_t> unsymbolized_locations_;
  absl::flat_hash_map<std::tuple<std::string, std::string, std::string>, uint64_t> function_ids_;
  uint64_t kernel_mapping_id_ = 0;
  uint64_t kernel_start_ = 0, kernel_limit_ = 0;
  std::string kernel_symbols_error_;
  std::vector<uint64_t> problem_base_;  // Symbolizer::problems() counts before this build
};

}  // namespace

bool IsKernelMapping(const formats::ProfileMapping& mapping) {
  return mapping.filename == kKernelMappingName;
}

absl::StatusOr<formats::Profile> BuildProfile(const formats::Recording& recording,
                                              symbolizer::Symbolizer& symbolizer,
                                              const BuildOptions& options) {
  return ProfileBuilder(recording, symbolizer, options).Build();
}

absl::StatusOr<formats::Profile> LoadProfile(
    const std::string& path, const symbolizer::SymbolizerOptions& symbolizer_options,
    const BuildOptions& options) {
  ASSIGN_OR_RETURN(formats::Recording recording, formats::ReadRecording(path));
  symbolizer::Symbolizer symbolizer(symbolizer_options);
  return BuildProfile(recording, symbolizer, options);
}

std::string DamageWarning(const formats::Damage& d) {
  if (d.empty()) return "";
  std::vector<std::string> what;
  if (d.truncated) what.push_back("file ends inside a chunk");
  if (d.missing_end) what.push_back("no end marker (the recorder did not finish)");
  if (d.bad_chunks != 0) what.push_back(absl::StrCat(d.bad_chunks, " bad chunk(s) skipped"));
  if (d.bytes_unreadable != 0)
    what.push_back(absl::StrCat(d.bytes_unreadable, " bytes unreadable"));
  if (d.missing_chunks != 0) what.push_back(absl::StrCat(d.missing_chunks, " chunk(s) missing"));
  if (d.duplicate_chunks != 0) {
    what.push_back(absl::StrCat(d.duplicate_chunks, " repeated chunk(s) not counted again"));
  }
  if (d.out_of_order_chunks != 0) {
    what.push_back(absl::StrCat(d.out_of_order_chunks, " chunk(s) out of order"));
  }
  for (const auto& [type, n] : d.missing_by_type) {
    what.push_back(absl::StrCat(n, " ", type, " chunk(s) lost"));
  }
  if (what.empty() && !d.messages.empty()) what.push_back(EscapeText(d.messages.front()));
  return absl::StrCat("recording is damaged: ", absl::StrJoin(what, ", "),
                      "; showing what was readable");
}

}  // namespace ringprof::report
