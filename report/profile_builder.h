// Builds the symbolized profile model (formats::Profile) from a recording.
//
// Pipeline:
//   1. Sample types: "samples"/"count" first, then one column per sampling
//      event (its weight is Sample::period), then one per counter in
//      Recording::counters (the value is the counter's delta). Every report
//      (table, flame graph, pprof) reads the same columns.
//   2. Frames are collected first and symbolized in batches: user frames
//      grouped by the file they are in (build-id + path, so a library mapped
//      by many processes is resolved once), one Symbolizer call per file;
//      kernel frames against the recording's kallsyms snapshot.
//   3. Samples become leaf-first location lists (kernel frames first, as the
//      kernel is the leaf side) with pid/tid/comm labels. Identical
//      (stack, pid, tid) samples are aggregated, since pprof files and flame
//      graphs only need sums.
//
// Return addresses (every frame but the first kernel and the first user
// frame) are symbolized at address-1 so that the call instruction's line
// and inline chain are found, not the next statement's. The Location keeps
// the original address.
//
// A frame that cannot be symbolized is never dropped or called
// "[unknown]": it becomes a function named "<binary basename>+0x<offset>"
// so the user still sees where it was, and Profile::unsymbolized_frames
// counts it. A file that is missing, refused (not ELF, truncated: see
// symbolizer/elf_layout.h) or whose DWARF is undecodable also gets one
// comment, "symbolizer: <why> (N addresses)", from Symbolizer::problems().
//
// Every display string enters the profile here, escaped once with
// EscapeText (base/escape.h): mapping file names, function, system and
// source file names, comm labels, sample type names, and the comments and
// damage messages made from the recording. The profile therefore holds only
// printable UTF-8 (a Latin-1 path, the bytes 'c' 'a' 'f' 0xE9, shows as
// the text caf\xe9), which pprof, XML, folded stacks and terminals all
// take. Raw paths stay in the Recording and are what the symbolizer opens.
// Filters (--comm) compare the raw comm.
#ifndef RINGPROF_REPORT_PROFILE_BUILDER_H_
#define RINGPROF_REPORT_PROFILE_BUILDER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "formats/profile.h"
#include "formats/recording.h"
#include "symbolizer/symbolizer.h"

namespace ringprof::report {

struct BuildOptions {
  // Keep only samples of this process (0: all).
  uint32_t pid = 0;
  // Keep only samples whose comm equals this (empty: all).
  std::string comm;
  // Sum samples with the same stack, pid and tid into one.
  bool aggregate = true;
};

// Name of the kernel mapping in profiles.
inline constexpr char kKernelMappingName[] = "[kernel.kallsyms]";

absl::StatusOr<formats::Profile> BuildProfile(const formats::Recording& recording,
                                              symbolizer::Symbolizer& symbolizer,
                                              const BuildOptions& options);

// What every report command does: reads the recording at `path` (a damaged
// file still loads; Profile::damage describes it) and builds its profile
// with a fresh Symbolizer.
absl::StatusOr<formats::Profile> LoadProfile(
    const std::string& path, const symbolizer::SymbolizerOptions& symbolizer_options,
    const BuildOptions& options);

// One line for stderr when the recording is damaged, "" when it is intact:
// "recording is damaged: <what>; showing what was readable".
std::string DamageWarning(const formats::Damage& damage);

// True when the location's mapping is the kernel's (by name).
bool IsKernelMapping(const formats::ProfileMapping& mapping);

}  // namespace ringprof::report

#endif  // RINGPROF_REPORT_PROFILE_BUILDER_H_
