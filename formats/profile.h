// The symbolized profile model. It is shaped like pprof's profile.proto
// (see docs/FORMAT.md) so that pprof export is a direct encoding, and the
// counter table, folded stacks and flame graphs are all computed from it.
// report/ builds it from a Recording plus the symbolizer.
#ifndef RINGPROF_FORMATS_PROFILE_H_
#define RINGPROF_FORMATS_PROFILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "formats/recording.h"

namespace ringprof::formats {

struct ValueType {
  std::string type;  // "samples", "cpu-clock", "page-faults", ...
  std::string unit;  // "count", "nanoseconds", ...
  bool operator==(const ValueType&) const = default;
};

struct ProfileFunction {
  uint64_t id = 0;          // nonzero, unique
  std::string name;         // demangled / display name
  std::string system_name;  // mangled name, or same as name
  std::string filename;
  int64_t start_line = 0;
};

struct ProfileLine {
  uint64_t function_id = 0;
  int64_t line = 0;
};

struct ProfileMapping {
  uint64_t id = 0;  // nonzero, unique
  uint64_t memory_start = 0;
  uint64_t memory_limit = 0;
  uint64_t file_offset = 0;
  std::string filename;
  std::string build_id;  // lower-case hex
  bool has_functions = false;
  bool has_filenames = false;
  bool has_line_numbers = false;
  bool has_inline_frames = false;
};

struct ProfileLocation {
  uint64_t id = 0;          // nonzero, unique
  uint64_t mapping_id = 0;  // 0: none
  uint64_t address = 0;
  // lines[0] is the innermost inlined callee; lines.back() is the function
  // that physically holds the address.
  std::vector<ProfileLine> lines;
};

struct ProfileLabel {
  std::string key;
  std::string str;  // either str or num
  int64_t num = 0;
  bool is_num = false;
};

struct ProfileSample {
  std::vector<uint64_t> location_ids;  // leaf first
  std::vector<int64_t> values;         // one per Profile::sample_types
  std::vector<ProfileLabel> labels;
};

// How the selected samples' user stacks were unwound and why they ended
// (sample flags). Every sample is counted once in by_stop (or in
// no_user_stack), so those add up to the sample count in every mode.
struct UnwindSummary {
  // kNone: a user stack of only its leaf, nothing unwound (the walk failed
  // at the first frame).
  enum Method { kSframe, kEhFrame, kFp, kDwarf, kMixed, kNone, kNumMethods };
  uint64_t by_method[kNumMethods] = {};  // samples with a user stack, by method
  // Samples with a user stack, by UnwindStop; index 0 (kUnknown) counts
  // walks that did not say why they stopped (the kernel's frame-pointer
  // walk of --call-graph fp, older files).
  uint64_t by_stop[7] = {};
  uint64_t no_user_stack = 0;    // kernel threads, idle, unreadable user stacks
  uint64_t with_user_stack = 0;  // samples with at least one user frame
  uint64_t leaf_only = 0;        // ... of them with exactly one
  uint64_t recorded = 0;         // samples with any kSampleUnwound* bit or a stop reason
};

struct Profile {
  std::vector<ValueType> sample_types;
  std::string default_sample_type;  // a sample_types[i].type
  ValueType period_type;
  int64_t period = 0;
  int64_t time_nanos = 0;  // wall-clock start, ns since the epoch (0 if unknown)
  int64_t duration_nanos = 0;
  std::vector<ProfileMapping> mappings;  // mappings[0] is the main binary
  std::vector<ProfileLocation> locations;
  std::vector<ProfileFunction> functions;
  std::vector<ProfileSample> samples;
  std::vector<std::string> comments;

  // Not part of pprof's model: what every report's summary prints.
  std::vector<std::string> event_names;
  // The sample types that hold counters (Recording::counters), in order:
  // counter_types[i] is the `type` of the sample type of counter i.
  std::vector<std::string> counter_types;
  // Copied from Recording::counter_scaling: index-aligned with
  // counter_types, or empty when the recording has no scaling summary.
  std::vector<CounterScaling> counter_scaling;
  uint64_t sample_count = 0;  // raw samples in the recording
  LossStats loss;
  // False when the recording had no META chunk (Recording::meta_present):
  // event names and the start time are not known, so neither is the
  // duration (duration_nanos is then the span of the samples at best).
  bool events_known = true;
  bool duration_known = true;
  // False when the recording had no STATS chunk (Recording::stats_present):
  // `loss` holds zeros that nobody counted.
  bool loss_known = true;
  Damage damage;
  uint64_t unsymbolized_frames = 0;  // frames shown as binary+offset
  UnwindSummary unwind;
  // Sentences every report shows with its summary: what in the recording
  // makes some figures less exact than they look, and what to do about it.
  std::vector<std::string> warnings;
};

}  // namespace ringprof::formats

#endif  // RINGPROF_FORMATS_PROFILE_H_
