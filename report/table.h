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
// The header always lists what was lost (even when zero), so a reader can
// tell "nothing was lost" from "loss was not reported".
#ifndef RINGPROF_REPORT_TABLE_H_
#define RINGPROF_REPORT_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "formats/profile.h"

namespace ringprof::report {

struct FunctionRow {
  std::string name;
  std::vector<int64_t> self;   // one per Profile::sample_types
  std::vector<int64_t> total;  // one per Profile::sample_types
};

struct FunctionTable {
  std::vector<formats::ValueType> value_types;  // Profile::sample_types
  std::vector<int64_t> sums;                    // per value type, over all samples
  std::vector<FunctionRow> rows;                // unsorted until SortTable
};

FunctionTable ComputeFunctionTable(const formats::Profile& profile);

// Sorts rows, largest first (name: alphabetical). `key` is "self", "total",
// "name", or a sample type name (sorts by that type's Self, then Total).
// Ties break on name. InvalidArgument names the valid keys otherwise.
absl::Status SortTable(FunctionTable& table, const std::string& key);

struct TableOptions {
  std::string sort = "self";
  size_t limit = 50;  // rows printed; 0: all
};

// The summary header: events, samples, duration, processes, and every loss
// and damage counter, one per line.
std::string FormatSummary(const formats::Profile& profile);

// Header plus the sorted table, as aligned text.
absl::StatusOr<std::string> FormatReport(const formats::Profile& profile,
                                         const TableOptions& options);

}  // namespace ringprof::report

#endif  // RINGPROF_REPORT_TABLE_H_
