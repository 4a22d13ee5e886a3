// The per-function table of `ringprof report`: one row per function, with
// Self (samples whose innermost frame is the function) and Total (samples
// with the function anywhere on the stack, counted once per sample even
// when it recurses), for every sample type of the profile.
//
// Inlined functions are rows of their own, as in pprof: the innermost Line
// of the leaf Location gets Self, and every Line of every Location counts
// towards Total. Rows are keyed by function name, which is how pprof's
// -top aggregates, so the two tools agree.
//
// Derived columns are ratios of two sample types, added when both inputs
// were recorded (rules in FindDerivedColumns; docs/REPORTS.md). A ratio is
// computed from the row's Self sums (self variant) or Total sums (total
// variant), never averaged over samples, so it is what the hardware would
// report for that function. A ratio resting on fewer than `min_samples`
// samples is printed with a leading '~' and explained in a footnote: one or
// two samples can give any ratio at all.
//
// The header always lists what was lost (even when zero), so a reader can
// tell "nothing was lost" from "loss was not reported"; it also prints each
// counter's total and how much of the time it ran on the PMU (multiplexed
// counters are scaled estimates).
#ifndef RINGPROF_REPORT_TABLE_H_
#define RINGPROF_REPORT_TABLE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "formats/profile.h"

namespace ringprof::report {

// value = scale * sample_type[numerator] / sample_type[denominator].
struct DerivedColumn {
  std::string name;                  // "IPC", "MPKI", "MPKI(cache-misses)", "miss-ratio", ...
  std::vector<std::string> aliases;  // other names --sort accepts for it
  size_t numerator = 0;              // indexes into the sample types
  size_t denominator = 0;
  double scale = 1;
  bool percent = false;  // printed as a percentage (miss ratios)
  std::string formula;   // "instructions/cycles", for the header
};

// The derived columns whose inputs are among `types` (events or counters,
// never "samples"). Names are matched ignoring a "#N" de-duplication suffix
// and, for perf's generic names, ":modifiers" and case:
//   IPC        instructions / cycles. instructions: "instructions" or a
//              libpfm4 name containing INST_RETIRED.ANY; cycles: "cycles",
//              "cpu-cycles", or one containing CPU_CLK_UNHALTED.THREAD or
//              CPU_CLK_UNHALTED.CORE. First match of each.
//   MPKI       1000 * misses / instructions, one column per misses type:
//              cache-misses, LLC-load-misses, L1-dcache-load-misses, or any
//              name containing "MISS" (libpfm4 names are upper case, e.g.
//              MEM_LOAD_RETIRED.L3_MISS). Named "MPKI" when there is one
//              misses type (alias "MPKI(<misses>)"), else "MPKI(<misses>)".
//   miss-ratio misses / references for cache-misses/cache-references,
//              LLC-load-misses/LLC-loads, L1-dcache-load-misses/
//              L1-dcache-loads; "miss-ratio" or "miss-ratio(<misses>)" by
//              the same rule.
std::vector<DerivedColumn> FindDerivedColumns(const std::vector<formats::ValueType>& types);

// The column's value for per-type sums `values`; nullopt when the
// denominator is not positive.
std::optional<double> DerivedValue(const DerivedColumn& column, const std::vector<int64_t>& values);

// "scaled: running 25.0% of enabled time" (multiplexed: the values are
// estimates), "not scaled: running 100.0% of enabled time", or "never
// enabled".
std::string CounterScalingText(const formats::CounterScaling& scaling);

struct FunctionRow {
  std::string name;
  std::vector<int64_t> self;   // one per Profile::sample_types
  std::vector<int64_t> total;  // one per Profile::sample_types
};

struct FunctionTable {
  std::vector<formats::ValueType> value_types;  // Profile::sample_types
  std::vector<int64_t> sums;                    // per value type, over all samples
  std::vector<DerivedColumn> derived;           // FindDerivedColumns(value_types)
  std::vector<FunctionRow> rows;                // unsorted until SortTable
};

FunctionTable ComputeFunctionTable(const formats::Profile& profile);

// Ratios resting on fewer samples than this are marked (--min-samples).
inline constexpr int64_t kDefaultMinSamples = 10;

// Sorts rows, largest first (name: alphabetical). `key` is "self" or
// "total" (the samples column), "name", a sample type name, or a derived
// column name; a type or derived name sorts by its Self value, or by its
// Total value with the suffix ":total" (e.g. "page-faults:total",
// "MPKI:total"). For derived columns, rows whose ratio rests on fewer than
// `min_samples` samples come after the others, and rows with no ratio
// (zero denominator) last. Ties break on name. InvalidArgument lists every
// valid key otherwise.
absl::Status SortTable(FunctionTable& table, const std::string& key,
                       int64_t min_samples = kDefaultMinSamples);

// Every key SortTable accepts, for help and error text.
std::vector<std::string> SortKeys(const FunctionTable& table);

struct TableOptions {
  std::string sort = "self";
  size_t limit = 50;  // rows printed; 0: all
  int64_t min_samples = kDefaultMinSamples;
};

// The summary header: events, samples, duration, processes, every loss and
// damage counter, one per line; then each counter's total with its scaling
// ("scaled: running 45.0% of enabled time") and the whole-profile value of
// each derived column.
std::string FormatSummary(const formats::Profile& profile);

// Header plus the sorted table, as aligned text: per sample type Self,
// Self%, Total, Total%; per derived column Self and Total.
absl::StatusOr<std::string> FormatReport(const formats::Profile& profile,
                                         const TableOptions& options);

}  // namespace ringprof::report

#endif  // RINGPROF_REPORT_TABLE_H_
