#include "report/table.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/escape.h"
#include "base/status_macros.h"

namespace ringprof::report {
namespace {

constexpr char kTotalSuffix[] = ":total";

std::string Percent(int64_t v, int64_t sum) {
  if (sum == 0) return "0.00%";
  return absl::StrFormat("%.2f%%", 100.0 * static_cast<double>(v) / static_cast<double>(sum));
}

std::string Duration(int64_t ns) {
  return absl::StrFormat("%.3f s", static_cast<double>(ns) / 1e9);
}

// A sample type name without the "#N" the profile builder appends to
// repeated names.
std::string_view WithoutDedupSuffix(std::string_view name) {
  size_t hash = name.rfind('#');
  if (hash == std::string_view::npos || hash + 1 == name.size()) return name;
  for (size_t i = hash + 1; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return name;
  return name.substr(0, hash);
}

// A perf generic name without ":u"/":k"-style modifiers.
std::string_view GenericName(std::string_view name) {
  name = WithoutDedupSuffix(name);
  return name.substr(0, name.find(':'));
}

bool IsGeneric(std::string_view name, std::initializer_list<std::string_view> want) {
  std::string_view g = GenericName(name);
  for (std::string_view w : want)
    if (absl::EqualsIgnoreCase(Sv(g), Sv(w))) return true;
  return false;
}

bool Contains(std::string_view name, std::string_view part) {
  return absl::StrContains(Sv(WithoutDedupSuffix(name)), Sv(part));
}

bool IsInstructions(std::string_view n) {
  return IsGeneric(n, {"instructions"}) || Contains(n, "INST_RETIRED.ANY");
}
bool IsCycles(std::string_view n) {
  return IsGeneric(n, {"cycles", "cpu-cycles"}) || Contains(n, "CPU_CLK_UNHALTED.THREAD") ||
         Contains(n, "CPU_CLK_UNHALTED.CORE");
}
bool IsMisses(std::string_view n) {
  return IsGeneric(n, {"cache-misses", "LLC-load-misses", "L1-dcache-load-misses"}) ||
         Contains(n, "MISS");
}
// The generic reference count a generic misses count is a ratio of.
std::string_view ReferencesOf(std::string_view misses) {
  if (IsGeneric(misses, {"cache-misses"})) return "cache-references";
  if (IsGeneric(misses, {"LLC-load-misses"})) return "LLC-loads";
  if (IsGeneric(misses, {"L1-dcache-load-misses"})) return "L1-dcache-loads";
  return "";
}

// Sums of `samples` for a row variant, or -1 when the profile has no
// samples column (then nothing is marked).
int64_t SampleCount(const FunctionTable& t, const std::vector<int64_t>& values) {
  if (t.value_types.empty() || t.value_types[0].type != "samples" || values.empty()) return -1;
  return values[0];
}

std::string FormatDerived(const DerivedColumn& c, std::optional<double> v) {
  if (!v) return "-";
  return c.percent ? absl::StrFormat("%.2f%%", 100 * *v) : absl::StrFormat("%.2f", *v);
}

std::string Share(uint64_t n, uint64_t total) {
  return absl::StrFormat(
      "%.1f%%", total == 0 ? 0.0 : 100.0 * static_cast<double>(n) / static_cast<double>(total));
}

// How user stacks were unwound, and why they ended: lines for the summary.
template <typename LineFn>
void AppendUnwindSummary(const formats::Profile& p, LineFn& line) {
  const formats::UnwindSummary& u = p.unwind;
  if (u.with_user_stack > 0) {
    static constexpr const char* kMethods[] = {"sframe", "eh_frame", "fp",
                                               "dwarf",  "mixed",    "leaf only"};
    std::vector<std::string> parts;
    for (size_t i = 0; i < std::size(kMethods); ++i) {
      if (u.by_method[i] > 0)
        parts.push_back(absl::StrCat(kMethods[i], " ", Share(u.by_method[i], u.with_user_stack)));
    }
    line("User stacks unwound by",
         absl::StrCat(absl::StrJoin(parts, ", "), " (", u.with_user_stack, " samples)"));
  }
  // Every sample in one bucket: they add up to the sample count.
  static constexpr const char* kStops[] = {"not recorded",   "end",         "table miss",
                                           "read fault",     "depth limit", "bad frame",
                                           "stack copy lost"};
  static_assert(std::size(kStops) == std::size(formats::UnwindSummary{}.by_stop));
  std::vector<std::string> stops;
  for (size_t i : {1, 2, 3, 4, 5, 6, 0}) {
    if (u.by_stop[i] > 0) stops.push_back(absl::StrCat(kStops[i], " ", u.by_stop[i]));
  }
  if (u.no_user_stack > 0) stops.push_back(absl::StrCat("no user stack ", u.no_user_stack));
  if (!stops.empty()) line("User stacks ended at", absl::StrJoin(stops, ", "));
  if (u.with_user_stack > 0) {
    const uint64_t known = u.with_user_stack - u.by_stop[0];
    line("Whole user stacks",
         known == 0 ? std::string("unknown (the kernel's frame-pointer walk does not say where it "
                                  "stopped)")
                    : absl::StrCat(Share(u.by_stop[1], known), " (", u.by_stop[1], " of ", known,
                                   " walks reached the outermost frame); ", u.leaf_only,
                                   " stacks are the leaf alone"));
  }
  const formats::LossStats& l = p.loss;
  if (l.unwind_tables_loaded > 0 || l.unwind_binaries_without_table > 0) {
    line("Unwind tables",
         absl::StrCat(l.unwind_tables_loaded, " loaded, ", l.unwind_tables_evicted, " evicted (",
                      l.unwind_rows_evicted, " rows), ", l.unwind_binaries_without_table,
                      " binaries without one, ", l.unwind_tables_too_big, " over --unwind-mem"));
  }
  if (l.deferred_walks > 0 || l.deferred_copies_lost > 0) {
    line("Deferred walks",
         absl::StrCat(l.deferred_walks, " met code whose table was not ready and were finished ",
                      "from a copy of the stack; ", l.deferred_copies_lost,
                      " copies lost (ring full)"));
  }
}

void AppendCounterSummary(const formats::Profile& p, std::string& out) {
  if (p.counter_types.empty() && p.sample_types.size() < 2) return;
  std::vector<int64_t> sums(p.sample_types.size(), 0);
  for (const formats::ProfileSample& s : p.samples) {
    for (size_t v = 0; v < sums.size() && v < s.values.size(); ++v) sums[v] += s.values[v];
  }
  auto index_of = [&](const std::string& type) -> std::optional<size_t> {
    for (size_t i = 0; i < p.sample_types.size(); ++i)
      if (p.sample_types[i].type == type) return i;
    return std::nullopt;
  };
  if (!p.counter_types.empty()) {
    absl::StrAppend(&out, "Counters:\n");
    for (size_t i = 0; i < p.counter_types.size(); ++i) {
      std::optional<size_t> idx = index_of(p.counter_types[i]);
      std::string scaling = i < p.counter_scaling.size() ? CounterScalingText(p.counter_scaling[i])
                                                         : "scaling not recorded";
      absl::StrAppend(&out, absl::StrFormat("  %-24s %14d  %s\n", p.counter_types[i],
                                            idx ? sums[*idx] : 0, scaling));
    }
  }
  std::vector<DerivedColumn> derived = FindDerivedColumns(p.sample_types);
  if (!derived.empty()) {
    absl::StrAppend(&out, "Derived (whole profile):\n");
    for (const DerivedColumn& c : derived) {
      absl::StrAppend(&out, absl::StrFormat("  %-24s %14s  %s\n", c.name,
                                            FormatDerived(c, DerivedValue(c, sums)), c.formula));
    }
  }
}

// Where a sort key points.
struct SortColumn {
  bool by_name = false;
  bool derived = false;
  size_t index = 0;  // sample type or derived column
  bool total = false;
};

}  // namespace

std::vector<DerivedColumn> FindDerivedColumns(const std::vector<formats::ValueType>& types) {
  std::optional<size_t> instructions, cycles;
  std::vector<size_t> misses;
  for (size_t i = 0; i < types.size(); ++i) {
    const std::string& n = types[i].type;
    if (n == "samples") continue;
    if (!instructions && IsInstructions(n)) {
      instructions = i;
    } else if (!cycles && IsCycles(n)) {
      cycles = i;
    } else if (IsMisses(n)) {
      misses.push_back(i);
    }
  }
  std::vector<DerivedColumn> out;
  auto add = [&](std::string name, std::vector<std::string> aliases, size_t num, size_t den,
                 double scale, bool percent, std::string formula) {
    DerivedColumn c;
    c.name = std::move(name);
    c.aliases = std::move(aliases);
    c.numerator = num;
    c.denominator = den;
    c.scale = scale;
    c.percent = percent;
    c.formula = std::move(formula);
    out.push_back(std::move(c));
  };
  // "BASE" with alias "BASE(what)" when it is the only one, else "BASE(what)".
  auto names = [](std::string_view base, size_t how_many, const std::string& what) {
    std::string qualified = absl::StrCat(Sv(base), "(", what, ")");
    if (how_many == 1) return std::make_pair(std::string(base), std::vector{qualified});
    return std::make_pair(qualified, std::vector<std::string>{});
  };
  if (instructions && cycles) {
    add("IPC", {}, *instructions, *cycles, 1, false,
        absl::StrCat(types[*instructions].type, "/", types[*cycles].type));
  }
  if (instructions) {
    for (size_t m : misses) {
      auto [name, aliases] = names("MPKI", misses.size(), types[m].type);
      add(name, aliases, m, *instructions, 1000, false,
          absl::StrCat("1000 x ", types[m].type, "/", types[*instructions].type));
    }
  }
  std::vector<std::pair<size_t, size_t>> ratios;
  for (size_t m : misses) {
    std::string_view ref = ReferencesOf(types[m].type);
    if (ref.empty()) continue;
    for (size_t r = 0; r < types.size(); ++r) {
      if (IsGeneric(types[r].type, {ref})) {
        ratios.emplace_back(m, r);
        break;
      }
    }
  }
  for (auto [m, r] : ratios) {
    auto [name, aliases] = names("miss-ratio", ratios.size(), types[m].type);
    add(name, aliases, m, r, 1, true, absl::StrCat(types[m].type, "/", types[r].type));
  }
  return out;
}

std::string CounterScalingText(const formats::CounterScaling& s) {
  if (s.time_enabled_ns == 0) return "never enabled";
  double pct =
      100.0 * static_cast<double>(s.time_running_ns) / static_cast<double>(s.time_enabled_ns);
  if (s.time_running_ns >= s.time_enabled_ns)
    return absl::StrFormat("not scaled: running %.1f%% of enabled time", std::min(pct, 100.0));
  return absl::StrFormat("scaled: running %.1f%% of enabled time", pct);
}

std::optional<double> DerivedValue(const DerivedColumn& c, const std::vector<int64_t>& values) {
  if (c.numerator >= values.size() || c.denominator >= values.size() || values[c.denominator] <= 0)
    return std::nullopt;
  return c.scale * static_cast<double>(values[c.numerator]) /
         static_cast<double>(values[c.denominator]);
}

FunctionTable ComputeFunctionTable(const formats::Profile& profile) {
  FunctionTable table;
  table.value_types = profile.sample_types;
  table.derived = FindDerivedColumns(table.value_types);
  const size_t nv = profile.sample_types.size();
  table.sums.assign(nv, 0);

  absl::flat_hash_map<std::string, size_t> row_by_name;
  absl::flat_hash_map<uint64_t, size_t> row_by_function;
  for (const formats::ProfileFunction& f : profile.functions) {
    auto [it, inserted] = row_by_name.try_emplace(f.name, table.rows.size());
    if (inserted)
      table.rows.push_back({f.name, std::vector<int64_t>(nv), std::vector<int64_t>(nv)});
    row_by_function[f.id] = it->second;
  }
  // Rows of each location's lines, innermost first.
  absl::flat_hash_map<uint64_t, std::vector<size_t>> rows_of_location;
  for (const formats::ProfileLocation& loc : profile.locations) {
    std::vector<size_t>& rows = rows_of_location[loc.id];
    for (const formats::ProfileLine& line : loc.lines) {
      if (auto it = row_by_function.find(line.function_id); it != row_by_function.end())
        rows.push_back(it->second);
    }
  }

  std::vector<size_t> seen_in_sample(table.rows.size(), SIZE_MAX);
  for (size_t si = 0; si < profile.samples.size(); ++si) {
    const formats::ProfileSample& s = profile.samples[si];
    const size_t n = std::min(nv, s.values.size());
    for (size_t v = 0; v < n; ++v) table.sums[v] += s.values[v];
    bool leaf = true;
    for (uint64_t loc_id : s.location_ids) {
      auto it = rows_of_location.find(loc_id);
      if (it == rows_of_location.end()) continue;
      for (size_t r : it->second) {
        if (leaf) {
          for (size_t v = 0; v < n; ++v) table.rows[r].self[v] += s.values[v];
          leaf = false;
        }
        if (seen_in_sample[r] == si) continue;
        seen_in_sample[r] = si;
        for (size_t v = 0; v < n; ++v) table.rows[r].total[v] += s.values[v];
      }
    }
  }
  // Functions no sample reached (possible after filtering) are not rows.
  std::erase_if(table.rows, [&](const FunctionRow& r) {
    return std::all_of(r.total.begin(), r.total.end(), [](int64_t x) { return x == 0; });
  });
  return table;
}

std::vector<std::string> SortKeys(const FunctionTable& table) {
  std::vector<std::string> keys = {"self", "total", "name"};
  for (const formats::ValueType& t : table.value_types) {
    keys.push_back(t.type);
    keys.push_back(absl::StrCat(t.type, kTotalSuffix));
  }
  for (const DerivedColumn& c : table.derived) {
    keys.push_back(c.name);
    keys.push_back(absl::StrCat(c.name, kTotalSuffix));
  }
  return keys;
}

absl::Status SortTable(FunctionTable& table, const std::string& key, int64_t min_samples) {
  auto resolve = [&](std::string_view k, bool total) -> std::optional<SortColumn> {
    for (size_t i = 0; i < table.value_types.size(); ++i)
      if (table.value_types[i].type == k) return SortColumn{false, false, i, total};
    for (size_t i = 0; i < table.derived.size(); ++i) {
      const DerivedColumn& c = table.derived[i];
      if (c.name == k || std::find(c.aliases.begin(), c.aliases.end(), k) != c.aliases.end())
        return SortColumn{false, true, i, total};
    }
    return std::nullopt;
  };
  std::optional<SortColumn> col;
  if (key == "name") {
    col = SortColumn{.by_name = true};
  } else if (key == "self" || key == "total") {
    col = SortColumn{.total = key == "total"};
  } else {
    col = resolve(key, false);
    // A type may itself end in ":total"; only then is the suffix part of it.
    if (!col && absl::EndsWith(key, kTotalSuffix))
      col = resolve(std::string_view(key).substr(0, key.size() - strlen(kTotalSuffix)), true);
  }
  if (!col) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown sort column '", key, "' (valid: ", absl::StrJoin(SortKeys(table), ", "), ")"));
  }
  auto by_name = [](const FunctionRow& a, const FunctionRow& b) { return a.name < b.name; };
  if (col->by_name) {
    std::sort(table.rows.begin(), table.rows.end(), by_name);
    return absl::OkStatus();
  }
  if (!col->derived) {
    const size_t c = col->index;
    const bool total_first = col->total;
    std::sort(
        table.rows.begin(), table.rows.end(), [&](const FunctionRow& a, const FunctionRow& b) {
          auto ka = total_first ? std::tie(a.total[c], a.self[c]) : std::tie(a.self[c], a.total[c]);
          auto kb = total_first ? std::tie(b.total[c], b.self[c]) : std::tie(b.self[c], b.total[c]);
          if (ka != kb) return ka > kb;
          return a.name < b.name;
        });
    return absl::OkStatus();
  }
  // Derived: well-founded ratios, then thin ones, then none; each group by
  // value, largest first.
  const DerivedColumn& d = table.derived[col->index];
  struct Key {
    int group;
    double value;
  };
  auto key_of = [&](const FunctionRow& r) {
    const std::vector<int64_t>& values = col->total ? r.total : r.self;
    std::optional<double> v = DerivedValue(d, values);
    if (!v) return Key{2, 0};
    int64_t n = SampleCount(table, values);
    return Key{n >= 0 && n < min_samples ? 1 : 0, *v};
  };
  std::vector<std::pair<Key, FunctionRow>> keyed;
  keyed.reserve(table.rows.size());
  for (FunctionRow& r : table.rows) keyed.emplace_back(key_of(r), std::move(r));
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    if (a.first.group != b.first.group) return a.first.group < b.first.group;
    if (a.first.value != b.first.value) return a.first.value > b.first.value;
    return a.second.name < b.second.name;
  });
  table.rows.clear();
  for (auto& [k, r] : keyed) table.rows.push_back(std::move(r));
  return absl::OkStatus();
}

std::string FormatSummary(const formats::Profile& p) {
  std::map<int64_t, std::string> processes;  // pid -> comm
  for (const formats::ProfileSample& s : p.samples) {
    int64_t pid = -1;
    std::string comm;
    for (const formats::ProfileLabel& l : s.labels) {
      if (l.key == "pid" && l.is_num) pid = l.num;
      if (l.key == "comm" && !l.is_num) comm = l.str;
    }
    if (pid >= 0 && !processes.contains(pid)) processes[pid] = comm;
  }
  std::vector<std::string> shown;
  for (const auto& [pid, comm] : processes) {
    if (shown.size() == 8) {
      shown.push_back("...");
      break;
    }
    shown.push_back(comm.empty() ? absl::StrCat(pid) : absl::StrCat(pid, " ", comm));
  }

  std::string out;
  auto line = [&out](std::string_view label, const auto& value) {
    absl::StrAppend(
        &out, absl::StrFormat("%-26s %s\n", absl::StrCat(Sv(label), ":"), absl::StrCat(value)));
  };
  // A figure the recording did not carry is "unknown", never a 0.
  line("Events", !p.events_known         ? std::string("unknown (no META chunk)")
                 : p.event_names.empty() ? std::string("(none)")
                                         : absl::StrJoin(p.event_names, ", "));
  line("Samples", p.sample_count);
  line("Duration", p.duration_known ? Duration(p.duration_nanos)
                                    : absl::StrCat("unknown (no META chunk",
                                                   p.duration_nanos > 0
                                                       ? absl::StrCat("; samples span ",
                                                                      Duration(p.duration_nanos))
                                                       : std::string(),
                                                   ")"));
  line("Processes", processes.empty()
                        ? std::string("0")
                        : absl::StrCat(processes.size(), " (", absl::StrJoin(shown, ", "), ")"));
  auto loss = [&](std::string_view label, uint64_t value) {
    line(label, p.loss_known ? absl::StrCat(value) : std::string("unknown (no STATS chunk)"));
  };
  loss("Lost samples", p.loss.lost_samples);
  loss("Lost side-band records", p.loss.lost_perf_records);
  loss("Bad ring records", p.loss.bad_ring_records);
  loss("Throttle events", p.loss.throttle_events);
  loss("Truncated kernel stacks", p.loss.kernel_truncated);
  loss("Truncated user stacks", p.loss.user_truncated);
  loss("User stack failures", p.loss.user_stack_failed);
  loss("Unmapped frames", p.loss.unmapped_user_frames);
  line("Unsymbolized frames", p.unsymbolized_frames);
  AppendUnwindSummary(p, line);
  if (p.damage.empty()) {
    line("File damage", std::string("none"));
  } else {
    std::vector<std::string> what;
    if (p.damage.truncated) what.push_back("truncated");
    if (p.damage.missing_end) what.push_back("no end marker");
    if (p.damage.bad_chunks) what.push_back(absl::StrCat(p.damage.bad_chunks, " bad chunks"));
    if (p.damage.bytes_unreadable)
      what.push_back(absl::StrCat(p.damage.bytes_unreadable, " bytes unreadable"));
    auto chunks = [](uint64_t n) { return n == 1 ? " chunk" : " chunks"; };
    if (p.damage.missing_chunks)
      what.push_back(
          absl::StrCat(p.damage.missing_chunks, chunks(p.damage.missing_chunks), " missing"));
    if (p.damage.duplicate_chunks)
      what.push_back(absl::StrCat(p.damage.duplicate_chunks, " duplicate",
                                  chunks(p.damage.duplicate_chunks), " ignored"));
    if (p.damage.out_of_order_chunks)
      what.push_back(absl::StrCat(p.damage.out_of_order_chunks,
                                  chunks(p.damage.out_of_order_chunks), " out of order"));
    for (const auto& [type, n] : p.damage.missing_by_type)
      what.push_back(absl::StrCat(n, " ", type, chunks(n), " missing"));
    line("File damage", what.empty() ? std::string("yes") : absl::StrJoin(what, ", "));
    for (const std::string& m : p.damage.messages) line("  damage", m);
  }
  AppendCounterSummary(p, out);
  for (const std::string& w : p.warnings) line("Warning", w);
  return out;
}

absl::StatusOr<std::string> FormatReport(const formats::Profile& profile,
                                         const TableOptions& options) {
  FunctionTable table = ComputeFunctionTable(profile);
  RETURN_IF_ERROR(SortTable(table, options.sort, options.min_samples));
  size_t n = table.rows.size();
  if (options.limit != 0) n = std::min(n, options.limit);

  // Two header lines: a group per sample type (Self, Self%, Total, Total%)
  // and per derived column (Self, Total), then the function name.
  struct Group {
    std::string name;
    std::vector<std::string> sub;
  };
  std::vector<Group> groups;
  // Names are printable when the profile came from BuildProfile; escape
  // whatever else reaches the terminal (base/escape.h).
  for (const formats::ValueType& t : table.value_types)
    groups.push_back({EscapeIfNotPrintable(t.type), {"self", "self%", "total", "total%"}});
  for (const DerivedColumn& c : table.derived) groups.push_back({c.name, {"self", "total"}});

  bool marked = false;
  std::vector<std::vector<std::string>> cells(n);
  for (size_t i = 0; i < n; ++i) {
    const FunctionRow& r = table.rows[i];
    std::vector<std::string>& c = cells[i];
    for (size_t v = 0; v < table.value_types.size(); ++v) {
      c.push_back(absl::StrCat(r.self[v]));
      c.push_back(Percent(r.self[v], table.sums[v]));
      c.push_back(absl::StrCat(r.total[v]));
      c.push_back(Percent(r.total[v], table.sums[v]));
    }
    for (const DerivedColumn& d : table.derived) {
      for (const std::vector<int64_t>* values : {&r.self, &r.total}) {
        std::optional<double> value = DerivedValue(d, *values);
        int64_t samples = SampleCount(table, *values);
        bool thin = value && samples >= 0 && samples < options.min_samples;
        marked |= thin;
        c.push_back(absl::StrCat(thin ? "~" : "", FormatDerived(d, value)));
      }
    }
  }
  // Widths: each sub-column fits its cells and label; a group name wider
  // than its columns widens its last column.
  std::vector<size_t> width;
  std::vector<std::string> sub_header;
  for (const Group& g : groups) {
    for (const std::string& s : g.sub) {
      sub_header.push_back(s);
      width.push_back(s.size());
    }
  }
  for (const auto& c : cells)
    for (size_t k = 0; k < c.size(); ++k) width[k] = std::max(width[k], c[k].size());
  std::vector<size_t> span_start;
  for (size_t g = 0, k = 0; g < groups.size(); ++g) {
    span_start.push_back(k);
    size_t span = 0;
    for (size_t s = 0; s < groups[g].sub.size(); ++s) span += width[k + s] + (s ? 2 : 0);
    if (groups[g].name.size() > span)
      width[k + groups[g].sub.size() - 1] += groups[g].name.size() - span;
    k += groups[g].sub.size();
  }

  std::string out = FormatSummary(profile);
  absl::StrAppend(&out, "\n");
  // Group line: names centred over their columns.
  std::string group_line;
  for (size_t g = 0; g < groups.size(); ++g) {
    size_t span = 0;
    for (size_t s = 0; s < groups[g].sub.size(); ++s)
      span += width[span_start[g] + s] + (s ? 2 : 0);
    size_t left = (span - groups[g].name.size()) / 2;
    absl::StrAppend(&group_line, std::string(left, ' '), groups[g].name,
                    std::string(span - left - groups[g].name.size() + 2, ' '));
  }
  while (!group_line.empty() && group_line.back() == ' ') group_line.pop_back();
  if (!group_line.empty()) absl::StrAppend(&out, group_line, "\n");
  auto row = [&](const std::vector<std::string>& c, std::string_view name) {
    for (size_t k = 0; k < c.size(); ++k)
      absl::StrAppend(&out, absl::StrFormat("%*s  ", width[k], c[k]));
    absl::StrAppend(&out, Sv(name), "\n");
  };
  row(sub_header, "Function");
  for (size_t i = 0; i < n; ++i) row(cells[i], EscapeIfNotPrintable(table.rows[i].name));
  if (n < table.rows.size())
    absl::StrAppend(&out, "(", table.rows.size() - n, " more functions; --limit 0 shows all)\n");
  if (marked) {
    absl::StrAppend(&out, "~ marks a ratio resting on fewer than ", options.min_samples,
                    " samples: a rough estimate (threshold: --min-samples)\n");
  }
  return out;
}

}  // namespace ringprof::report
