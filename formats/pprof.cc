#include "formats/pprof.h"

#include <zlib.h>

#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "base/atomic_file.h"
#include "base/escape.h"
#include "base/status_macros.h"
#include "formats/profile.pb.h"

namespace ringprof::formats {
namespace {

// Interns strings into the profile's string table; index 0 is "".
//
// protobuf requires valid UTF-8 in a string field: it logs an error for
// each bad one and readers reject the file. Profiles made by
// report::BuildProfile hold printable text only; any other string is
// escaped here (base/escape.h), so the table is valid UTF-8 whatever the
// Profile holds.
class StringTable {
 public:
  explicit StringTable(pprof::Profile* out) : out_(out) { Intern(""); }

  int64_t Intern(std::string_view raw) {
    std::string escaped;
    std::string_view s = raw;
    if (!IsPrintableText(raw)) {
      escaped = EscapeText(raw);
      s = escaped;
    }
    if (auto it = index_.find(s); it != index_.end()) return it->second;
    int id = out_->string_table_size();
    out_->add_string_table(std::string(s));
    index_.emplace(out_->string_table(id), id);
    return id;
  }

 private:
  pprof::Profile* out_;
  // Keys view strings owned by out_->string_table (RepeatedPtrField keeps
  // element addresses stable as it grows).
  absl::flat_hash_map<std::string_view, int64_t> index_;
};

absl::Status CheckIds(const Profile& p) {
  absl::flat_hash_set<uint64_t> mapping_ids, location_ids, function_ids;
  for (const ProfileMapping& m : p.mappings) {
    if (m.id == 0 || !mapping_ids.insert(m.id).second)
      return absl::InvalidArgumentError(
          absl::StrCat("pprof: mapping id ", m.id, " is 0 or duplicated"));
  }
  for (const ProfileFunction& f : p.functions) {
    if (f.id == 0 || !function_ids.insert(f.id).second)
      return absl::InvalidArgumentError(
          absl::StrCat("pprof: function id ", f.id, " is 0 or duplicated"));
  }
  for (const ProfileLocation& l : p.locations) {
    if (l.id == 0 || !location_ids.insert(l.id).second)
      return absl::InvalidArgumentError(
          absl::StrCat("pprof: location id ", l.id, " is 0 or duplicated"));
    if (l.mapping_id != 0 && !mapping_ids.contains(l.mapping_id))
      return absl::InvalidArgumentError(
          absl::StrCat("pprof: location ", l.id, " references missing mapping ", l.mapping_id));
    for (const ProfileLine& line : l.lines) {
      if (!function_ids.contains(line.function_id))
        return absl::InvalidArgumentError(absl::StrCat(
            "pprof: location ", l.id, " references missing function ", line.function_id));
    }
  }
  for (size_t i = 0; i < p.samples.size(); ++i) {
    const ProfileSample& s = p.samples[i];
    if (s.values.size() != p.sample_types.size())
      return absl::InvalidArgumentError(absl::StrCat("pprof: sample ", i, " has ", s.values.size(),
                                                     " values for ", p.sample_types.size(),
                                                     " sample types"));
    for (uint64_t id : s.location_ids) {
      if (!location_ids.contains(id))
        return absl::InvalidArgumentError(
            absl::StrCat("pprof: sample ", i, " references missing location ", id));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> EncodePprof(const Profile& p) {
  RETURN_IF_ERROR(CheckIds(p));
  pprof::Profile out;
  StringTable strings(&out);

  for (const ValueType& vt : p.sample_types) {
    pprof::ValueType* v = out.add_sample_type();
    v->set_type(strings.Intern(vt.type));
    v->set_unit(strings.Intern(vt.unit));
  }
  for (const ProfileSample& s : p.samples) {
    pprof::Sample* o = out.add_sample();
    o->mutable_location_id()->Assign(s.location_ids.begin(), s.location_ids.end());
    o->mutable_value()->Assign(s.values.begin(), s.values.end());
    for (const ProfileLabel& l : s.labels) {
      pprof::Label* ol = o->add_label();
      ol->set_key(strings.Intern(l.key));
      if (l.is_num) {
        ol->set_num(l.num);
      } else {
        ol->set_str(strings.Intern(l.str));
      }
    }
  }
  for (const ProfileMapping& m : p.mappings) {
    pprof::Mapping* o = out.add_mapping();
    o->set_id(m.id);
    o->set_memory_start(m.memory_start);
    o->set_memory_limit(m.memory_limit);
    o->set_file_offset(m.file_offset);
    o->set_filename(strings.Intern(m.filename));
    o->set_build_id(strings.Intern(m.build_id));
    o->set_has_functions(m.has_functions);
    o->set_has_filenames(m.has_filenames);
    o->set_has_line_numbers(m.has_line_numbers);
    o->set_has_inline_frames(m.has_inline_frames);
  }
  for (const ProfileLocation& l : p.locations) {
    pprof::Location* o = out.add_location();
    o->set_id(l.id);
    o->set_mapping_id(l.mapping_id);
    o->set_address(l.address);
    for (const ProfileLine& line : l.lines) {
      pprof::Line* ol = o->add_line();
      ol->set_function_id(line.function_id);
      ol->set_line(line.line);
    }
  }
  for (const ProfileFunction& f : p.functions) {
    pprof::Function* o = out.add_function();
    o->set_id(f.id);
    o->set_name(strings.Intern(f.name));
    o->set_system_name(strings.Intern(f.system_name.empty() ? f.name : f.system_name));
    o->set_filename(strings.Intern(f.filename));
    o->set_start_line(f.start_line);
  }
  out.set_time_nanos(p.time_nanos);
  out.set_duration_nanos(p.duration_nanos);
  if (!p.period_type.type.empty() || !p.period_type.unit.empty()) {
    out.mutable_period_type()->set_type(strings.Intern(p.period_type.type));
    out.mutable_period_type()->set_unit(strings.Intern(p.period_type.unit));
  }
  out.set_period(p.period);
  for (const std::string& c : p.comments) out.add_comment(strings.Intern(c));
  if (!p.default_sample_type.empty())
    out.set_default_sample_type(strings.Intern(p.default_sample_type));

  std::string bytes;
  if (!out.SerializeToString(&bytes))
    return absl::InternalError("pprof: protobuf serialization failed");
  return bytes;
}

absl::StatusOr<std::string> EncodePprofGzip(const Profile& profile) {
  ASSIGN_OR_RETURN(std::string raw, EncodePprof(profile));
  z_stream zs{};
  // windowBits 15 + 16 selects the gzip wrapper.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return absl::InternalError("pprof: zlib deflateInit2 failed");
  std::string out;
  out.resize(deflateBound(&zs, raw.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END)
    return absl::InternalError(absl::StrCat("pprof: zlib deflate failed (", rc, ")"));
  out.resize(produced);
  return out;
}

absl::Status WritePprof(const Profile& profile, const std::string& path) {
  RETURN_IF_ERROR(CheckOutputTarget(path, kPprofOutput));
  ASSIGN_OR_RETURN(std::string bytes, EncodePprofGzip(profile));
  return WriteOutput(path, bytes, kPprofOutput);
}

}  // namespace ringprof::formats
