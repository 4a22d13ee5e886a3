// Small ELF facts read straight from a file with libelf: the GNU build-id.
// The collector uses it for mappings it synthesizes from /proc (the kernel
// only reports build-ids for mappings it sees being created).
#ifndef RINGPROF_UNWIND_ELF_IMAGE_H_
#define RINGPROF_UNWIND_ELF_IMAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ringprof::unwind {

// Raw bytes of the NT_GNU_BUILD_ID note; NotFound when the file has none,
// InvalidArgument when it is not ELF.
absl::StatusOr<std::string> ReadGnuBuildId(const std::string& path);

// A PT_LOAD program header: how file offsets map to ELF virtual addresses,
// which is what turns a runtime PC into a table PC (unwind_table.h).
struct LoadSegment {
  uint64_t offset = 0;  // p_offset
  uint64_t vaddr = 0;   // p_vaddr
  uint64_t filesz = 0;  // p_filesz
  bool executable = false;
};

// The PT_LOAD headers of an ELF file; InvalidArgument when it is not ELF or
// has none.
absl::StatusOr<std::vector<LoadSegment>> ReadLoadSegments(const std::string& path);

// e_entry: the ELF virtual address where a program (or the dynamic loader)
// starts. A stack walk that reaches it has reached the outermost frame,
// whether or not the code there has unwind information (ld.so's _start has
// none).
absl::StatusOr<uint64_t> ReadEntryPoint(const std::string& path);

// The ELF virtual address of file offset `offset`, through the PT_LOAD
// segment that holds it; nullopt when none does.
std::optional<uint64_t> FileOffsetToVaddr(const std::vector<LoadSegment>& segments,
                                          uint64_t offset);

}  // namespace ringprof::unwind

#endif  // RINGPROF_UNWIND_ELF_IMAGE_H_
