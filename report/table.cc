#include "report/table.h"

#include <algorithm>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"

namespace ringprof::report {
namespace {

std::string Percent(int64_t v, int64_t sum) {
  if (sum == 0) return "0.00%";
  return absl::StrFormat("%.2f%%", 100.0 * static_cast<double>(v) / static_cast<double>(sum));
}

std::string Duration(int64_t ns) {
  return absl::StrFormat("%.3f s", static_cast<double>(ns) / 1e9);
}

}  // namespace

FunctionTable ComputeFunctionTable(const formats::Profile& profile) {
  FunctionTable table;
  table.value_types = profile.sample_types;
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

absl::Status SortTable(FunctionTable& table, const std::string& key) {
  auto by_name = [](const FunctionRow& a, const FunctionRow& b) { return a.name < b.name; };
  if (key == "name") {
    std::sort(table.rows.begin(), table.rows.end(), by_name);
    return absl::OkStatus();
  }
  size_t column = 0;
  bool total_first = false;
  if (key == "self" || key == "total") {
    total_first = key == "total";
  } else {
    auto it = std::find_if(table.value_types.begin(), table.value_types.end(),
                           [&](const formats::ValueType& t) { return t.type == key; });
    if (it == table.value_types.end()) {
      std::vector<std::string> valid = {"self", "total", "name"};
      for (const formats::ValueType& t : table.value_types) valid.push_back(t.type);
      return absl::InvalidArgumentError(
          absl::StrCat("unknown sort key '", key, "' (valid: ", absl::StrJoin(valid, ", "), ")"));
    }
    column = static_cast<size_t>(it - table.value_types.begin());
  }
  std::sort(table.rows.begin(), table.rows.end(), [&](const FunctionRow& a, const FunctionRow& b) {
    auto ka = total_first ? std::tie(a.total[column], a.self[column])
                          : std::tie(a.self[column], a.total[column]);
    auto kb = total_first ? std::tie(b.total[column], b.self[column])
                          : std::tie(b.self[column], b.total[column]);
    if (ka != kb) return ka > kb;
    return a.name < b.name;
  });
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
  line("Events",
       p.event_names.empty() ? std::string("(none)") : absl::StrJoin(p.event_names, ", "));
  line("Samples", p.sample_count);
  line("Duration", Duration(p.duration_nanos));
  line("Processes", processes.empty()
                        ? std::string("0")
                        : absl::StrCat(processes.size(), " (", absl::StrJoin(shown, ", "), ")"));
  line("Lost samples", p.loss.lost_samples);
  line("Lost side-band records", p.loss.lost_perf_records);
  line("Throttle events", p.loss.throttle_events);
  line("Truncated kernel stacks", p.loss.kernel_truncated);
  line("Truncated user stacks", p.loss.user_truncated);
  line("User stack failures", p.loss.user_stack_failed);
  line("Unmapped frames", p.loss.unmapped_user_frames);
  line("Unsymbolized frames", p.unsymbolized_frames);
  if (p.damage.empty()) {
    line("File damage", std::string("none"));
  } else {
    std::vector<std::string> what;
    if (p.damage.truncated) what.push_back("truncated");
    if (p.damage.missing_end) what.push_back("no end marker");
    if (p.damage.bad_chunks) what.push_back(absl::StrCat(p.damage.bad_chunks, " bad chunks"));
    if (p.damage.bytes_unreadable)
      what.push_back(absl::StrCat(p.damage.bytes_unreadable, " bytes unreadable"));
    line("File damage", what.empty() ? std::string("yes") : absl::StrJoin(what, ", "));
    for (const std::string& m : p.damage.messages) line("  damage", m);
  }
  return out;
}

absl::StatusOr<std::string> FormatReport(const formats::Profile& profile,
                                         const TableOptions& options) {
  FunctionTable table = ComputeFunctionTable(profile);
  if (absl::Status s = SortTable(table, options.sort); !s.ok()) return s;
  const size_t nv = table.value_types.size();
  size_t n = table.rows.size();
  if (options.limit != 0) n = std::min(n, options.limit);

  // Columns: Self% Total% for the first type (samples), then Self/Total raw
  // values for every type, then the function name.
  std::vector<std::string> header;
  if (nv > 0) {
    header = {"Self%", "Total%"};
    for (const formats::ValueType& t : table.value_types) {
      header.push_back(absl::StrCat(t.type, " self"));
      header.push_back(absl::StrCat(t.type, " total"));
    }
  }
  std::vector<std::vector<std::string>> cells;
  cells.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const FunctionRow& r = table.rows[i];
    std::vector<std::string> c;
    if (nv > 0) {
      c.push_back(Percent(r.self[0], table.sums[0]));
      c.push_back(Percent(r.total[0], table.sums[0]));
      for (size_t v = 0; v < nv; ++v) {
        c.push_back(absl::StrCat(r.self[v]));
        c.push_back(absl::StrCat(r.total[v]));
      }
    }
    cells.push_back(std::move(c));
  }
  std::vector<size_t> width(header.size());
  for (size_t k = 0; k < header.size(); ++k) {
    width[k] = header[k].size();
    for (const auto& c : cells) width[k] = std::max(width[k], c[k].size());
  }

  std::string out = FormatSummary(profile);
  absl::StrAppend(&out, "\n");
  auto row = [&](const std::vector<std::string>& c, std::string_view name) {
    for (size_t k = 0; k < c.size(); ++k)
      absl::StrAppend(&out, absl::StrFormat("%*s  ", width[k], c[k]));
    absl::StrAppend(&out, Sv(name), "\n");
  };
  row(header, "Function");
  for (size_t i = 0; i < n; ++i) row(cells[i], table.rows[i].name);
  if (n < table.rows.size())
    absl::StrAppend(&out, "(", table.rows.size() - n, " more functions; --limit 0 shows all)\n");
  return out;
}

}  // namespace ringprof::report
