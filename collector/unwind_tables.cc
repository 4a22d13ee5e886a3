#include "collector/unwind_tables.h"

#include <malloc.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/scoped_fd.h"
#include "base/status_macros.h"
#include "unwind/eh_frame.h"
#include "unwind/sframe.h"

namespace ringprof::collector {

absl::StatusOr<CallGraphMode> ParseCallGraphMode(absl::string_view name) {
  if (name == "auto") return CallGraphMode::kAuto;
  if (name == "fp") return CallGraphMode::kFp;
  if (name == "sframe") return CallGraphMode::kSframe;
  if (name == "ehframe" || name == "eh_frame") return CallGraphMode::kEhFrame;
  if (name == "dwarf") return CallGraphMode::kDwarf;
  return absl::InvalidArgumentError(absl::StrCat("unknown --call-graph mode '", name,
                                                 "'; use auto, fp, sframe, ehframe or dwarf"));
}

const char* CallGraphModeName(CallGraphMode mode) {
  switch (mode) {
    case CallGraphMode::kAuto:
      return "auto";
    case CallGraphMode::kFp:
      return "fp";
    case CallGraphMode::kSframe:
      return "sframe";
    case CallGraphMode::kEhFrame:
      return "ehframe";
    case CallGraphMode::kDwarf:
      return "dwarf";
  }
  return "?";
}

absl::StatusOr<EncodedTable> EncodeTable(const unwind::UnwindTable& table) {
  EncodedTable out;
  out.source =
      table.source == unwind::TableSource::kSframe ? RP_UNWOUND_SFRAME : RP_UNWOUND_EHFRAME;
  if (table.rows.empty()) return out;
  out.pc_base = table.rows.front().pc;
  if (table.rows.back().pc - out.pc_base > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError("the unwind table spans more than 4 GiB of addresses");
  }
  out.rows.reserve(table.rows.size());
  absl::flat_hash_map<int32_t, uint32_t> far_index;  // offset -> index in out.far
  for (const unwind::UnwindRow& r : table.rows) {
    rp_unwind_row e{};
    e.pc = static_cast<uint32_t>(r.pc - out.pc_base);
    using unwind::CfaBase;
    switch (r.cfa_base) {
      case CfaBase::kNoInfo:
        e.kind = RP_ROW_NOINFO;
        break;
      case CfaBase::kUndefined:
        e.kind = RP_ROW_UNDEFINED;
        break;
      case CfaBase::kUnsupported:
        e.kind = RP_ROW_UNSUPPORTED;
        break;
      case CfaBase::kSp:
      case CfaBase::kFp: {
        const bool fits_cfa = r.cfa_offset >= std::numeric_limits<int16_t>::min() &&
                              r.cfa_offset <= std::numeric_limits<int16_t>::max();
        const bool fits_fp = !r.fp_saved || (r.fp_offset % 8 == 0 && r.fp_offset / 8 >= -128 &&
                                             r.fp_offset / 8 <= 127);
        constexpr size_t kMaxFar = size_t{std::numeric_limits<int16_t>::max()} + 1;
        if (!fits_fp || r.ra_offset != -8 ||
            (!fits_cfa && !far_index.contains(r.cfa_offset) && out.far.size() == kMaxFar)) {
          e.kind = RP_ROW_UNSUPPORTED;
          ++out.unencodable_rows;
          break;
        }
        e.kind = r.cfa_base == CfaBase::kSp ? RP_ROW_SP : RP_ROW_FP;
        if (fits_cfa) {
          e.cfa_offset = static_cast<int16_t>(r.cfa_offset);
        } else {
          auto [it, inserted] =
              far_index.try_emplace(r.cfa_offset, static_cast<uint32_t>(out.far.size()));
          if (inserted) {
            rp_unwind_row f{};
            f.pc = static_cast<uint32_t>(r.cfa_offset);
            out.far.push_back(f);
          }
          e.kind |= RP_ROW_FAR_CFA;
          // The index, 0..32767, kept in the 16 bits as they are.
          e.cfa_offset = static_cast<int16_t>(static_cast<uint16_t>(it->second));
        }
        if (r.fp_saved) {
          e.kind |= RP_ROW_FP_SAVED;
          e.fp_offset8 = static_cast<int8_t>(r.fp_offset / 8);
        }
        break;
      }
    }
    // Rows that became equal after encoding say the same thing: keep one.
    if (!out.rows.empty()) {
      const rp_unwind_row& p = out.rows.back();
      if (p.kind == e.kind && p.cfa_offset == e.cfa_offset && p.fp_offset8 == e.fp_offset8) {
        continue;
      }
    }
    out.rows.push_back(e);
  }
  const uint32_t last_page = out.rows.back().pc >> RP_UNWIND_PAGE_SHIFT;
  out.pages.reserve(last_page + 1);
  size_t r = 0;
  for (uint32_t page = 0; page <= last_page; ++page) {
    const uint64_t start = uint64_t{page} << RP_UNWIND_PAGE_SHIFT;
    const uint64_t end = start + (uint64_t{1} << RP_UNWIND_PAGE_SHIFT);
    while (r + 1 < out.rows.size() && out.rows[r + 1].pc <= start) ++r;
    rp_unwind_row e = out.rows[r];
    e.pc = static_cast<uint32_t>(r);
    // (Row 0 is at pc 0, so some row is in force at every page start.)
    if (r + 1 == out.rows.size() || out.rows[r + 1].pc >= end) {
      e.kind |= RP_ROW_WHOLE_PAGE;
    }
    out.pages.push_back(e);
  }
  return out;
}

UnwindTables::UnwindTables(CallGraphMode mode, UnwindMapWriter* writer, WarnFn warn)
    : mode_(mode), writer_(writer), warn_(std::move(warn)) {
  if (writer_->row_capacity() > 0) free_.emplace_back(0, writer_->row_capacity());
}

absl::StatusOr<unwind::UnwindTable> UnwindTables::BuildTable(CallGraphMode mode,
                                                             const std::string& path,
                                                             std::vector<std::string>* warnings) {
  if (mode != CallGraphMode::kEhFrame) {
    absl::StatusOr<unwind::SframeSection> section = unwind::ReadSframeFromElf(path);
    absl::Status err = section.status();
    if (section.ok()) {
      absl::StatusOr<unwind::UnwindTable> table = unwind::BuildTableFromSframe(*section);
      if (table.ok()) return table;
      err = table.status();
    }
    if (!absl::IsNotFound(err)) {
      warnings->push_back(
          absl::StrCat(path, ": .sframe is unusable (", err.message(), "); unwinding it with ",
                       mode == CallGraphMode::kAuto ? ".eh_frame" : "frame pointers", " instead"));
    }
    if (mode == CallGraphMode::kSframe) return err;
  }
  return unwind::BuildTableFromEhFrame(path);
}

// Runs Prepare() for the binaries handed to it, one at a time, in order.
class UnwindTables::Worker {
 public:
  Worker(CallGraphMode mode, ScopedFd ready) : mode_(mode), ready_(std::move(ready)) {
    // The thread takes no signals: they stay with the caller's thread,
    // whose loop reacts to them.
    sigset_t all;
    sigset_t old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    thread_ = std::thread([this] { Run(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  ~Worker() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
      jobs_.clear();  // queued builds are dropped; the one in progress ends
    }
    cv_.notify_one();
    thread_.join();
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  int fd() const { return ready_.get(); }
  void Submit(std::string key, std::string path) {
    {
      std::lock_guard<std::mutex> l(mu_);
      jobs_.emplace_back(std::move(key), std::move(path));
    }
    cv_.notify_one();
  }
  std::vector<Prepared> TakeDone() {
    uint64_t n = 0;
    (void)!read(ready_.get(), &n, sizeof(n));  // nonblocking: clears the eventfd
    std::lock_guard<std::mutex> l(mu_);
    return std::exchange(done_, {});
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait(l, [this] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      auto [key, path] = std::move(jobs_.front());
      jobs_.pop_front();
      l.unlock();
      Prepared p = Prepare(mode_, path);
      p.key = std::move(key);
      l.lock();
      done_.push_back(std::move(p));
      const uint64_t one = 1;
      (void)!write(ready_.get(), &one, sizeof(one));
    }
  }

  const CallGraphMode mode_;
  ScopedFd ready_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> jobs_;  // (key, path)
  std::vector<Prepared> done_;
  bool stop_ = false;
  std::thread thread_;
};

UnwindTables::~UnwindTables() = default;

absl::Status UnwindTables::StartWorker() {
  if (worker_) return absl::OkStatus();
  ScopedFd fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd.valid()) {
    return LastErrnoStatus("creating the eventfd of the table-building thread");
  }
  worker_ = std::make_unique<Worker>(mode_, std::move(fd));
  return absl::OkStatus();
}

int UnwindTables::ready_fd() const { return worker_ ? worker_->fd() : -1; }

bool UnwindTables::Allocate(uint32_t n, uint32_t* first) {
  if (n == 0 || n > writer_->row_capacity()) return false;
  while (true) {
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second < n) continue;
      *first = it->first;
      it->first += n;
      it->second -= n;
      if (it->second == 0) free_.erase(it);
      return true;
    }
    if (lru_.empty()) return false;
    Evict(lru_.back());
  }
}

void UnwindTables::Free(uint32_t first, uint32_t n) {
  auto at = std::lower_bound(free_.begin(), free_.end(), std::make_pair(first, 0u));
  at = free_.insert(at, {first, n});
  // Coalesce with the next range, then with the previous one.
  if (auto next = at + 1; next != free_.end() && at->first + at->second == next->first) {
    at->second += next->second;
    free_.erase(next);
  }
  if (at != free_.begin()) {
    auto prev = at - 1;
    if (prev->first + prev->second == at->first) {
      prev->second += at->second;
      free_.erase(at);
    }
  }
}

void UnwindTables::Evict(const std::string& key) {
  Binary& b = binaries_[key];
  // Clear the slot first: from here on lookups miss instead of reading
  // rows that are about to be overwritten.
  rp_unwind_bin cleared{};
  cleared.generation = b.generation;
  (void)writer_->WriteBin(b.slot, cleared);
  Free(b.first_row, b.row_count);
  free_slots_.push_back(b.slot);
  resident_rows_ -= b.row_count;
  ++stats_.tables_evicted;
  stats_.rows_evicted += b.row_count;
  lru_.erase(b.lru);
  b.resident = false;
}

absl::Status UnwindTables::Load(const std::string& key, Binary& b, const EncodedTable& t) {
  const auto n = static_cast<uint32_t>(t.entries());
  if (n > writer_->row_capacity()) {
    ++stats_.tables_too_big;
    return absl::ResourceExhaustedError(
        absl::StrCat("its unwind table has ", t.rows.size(), " rows and ", t.pages.size(),
                     " index entries (", n * sizeof(rp_unwind_row) / 1024,
                     " KiB), more than --unwind-mem allows; raise --unwind-mem"));
  }
  uint32_t slot = 0;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else if (next_slot_ < RP_MAX_BINS) {
    slot = next_slot_++;
    slot_generation_.push_back(0);
  } else {
    Evict(lru_.back());  // all slots used: the least recently used goes
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  uint32_t first = 0;
  if (!Allocate(n, &first)) {
    free_slots_.push_back(slot);
    return absl::ResourceExhaustedError("no room for its unwind table");
  }
  absl::Status written = writer_->WriteRows(first, t.rows);
  if (written.ok()) {
    written = writer_->WriteRows(first + static_cast<uint32_t>(t.rows.size()), t.pages);
  }
  if (written.ok() && !t.far.empty()) {
    written =
        writer_->WriteRows(first + static_cast<uint32_t>(t.rows.size() + t.pages.size()), t.far);
  }
  if (!written.ok()) {
    Free(first, n);
    free_slots_.push_back(slot);
    return written;
  }
  rp_unwind_bin bin{};
  bin.pc_base = t.pc_base;
  bin.row_start = first;
  bin.row_count = static_cast<uint32_t>(t.rows.size());
  bin.page_count = static_cast<uint32_t>(t.pages.size());
  bin.far_count = static_cast<uint32_t>(t.far.size());
  bin.generation = ++slot_generation_[slot];
  bin.source = t.source;
  if (absl::Status s = writer_->WriteBin(slot, bin); !s.ok()) {
    Free(first, n);
    free_slots_.push_back(slot);
    return s;
  }
  b.slot = slot;
  b.generation = bin.generation;
  b.first_row = first;
  b.row_count = n;
  b.pc_base = t.pc_base;
  b.source = t.source;
  b.resident = true;
  lru_.push_front(key);
  b.lru = lru_.begin();
  resident_rows_ += n;
  stats_.peak_rows = std::max(stats_.peak_rows, resident_rows_);
  ++stats_.tables_loaded;
  stats_.rows_loaded += n;
  ++(t.source == RP_UNWOUND_SFRAME ? stats_.sframe_tables : stats_.ehframe_tables);
  return absl::OkStatus();
}

// Tables at least this big give their build's memory back (malloc_trim).
constexpr size_t kTrimAfterRows = 100000;

UnwindTables::Prepared UnwindTables::Prepare(CallGraphMode mode, const std::string& path) {
  Prepared p;
  const auto started = std::chrono::steady_clock::now();
  auto took = [&] {
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  absl::StatusOr<std::vector<unwind::LoadSegment>> segs = unwind::ReadLoadSegments(path);
  if (!segs.ok()) {
    p.status = segs.status();
    p.always_warn = true;
    return p;
  }
  size_t source_rows = 0;
  {
    absl::StatusOr<unwind::UnwindTable> table = BuildTable(mode, path, &p.warnings);
    if (!table.ok()) {
      p.status = table.status();
      took();
      return p;
    }
    if (absl::StatusOr<uint64_t> entry = unwind::ReadEntryPoint(path); entry.ok() && *entry != 0) {
      unwind::MarkEntryPoint(*table, *entry);
    }
    source_rows = table->rows.size();
    absl::StatusOr<EncodedTable> encoded = EncodeTable(*table);
    took();
    if (!encoded.ok()) {
      p.status = encoded.status();
      return p;
    }
    if (encoded->rows.empty()) {
      p.status = absl::NotFoundError("empty table");
      return p;
    }
    p.table = std::move(*encoded);
  }
  // A big table's build (cc1plus: 518,000 rows, tens of MB in passing)
  // leaves the heap that large unless the freed memory goes back.
  if (source_rows >= kTrimAfterRows) malloc_trim(0);
  p.segments = std::move(*segs);
  return p;
}

void UnwindTables::Install(const formats::Mapping& m, const std::string& key, Binary& b,
                           Prepared p) {
  for (const std::string& w : p.warnings) warn_(w);
  stats_.build_seconds += p.seconds;
  // A file without unwind sections is normal (NotFound: quietly frame
  // pointers); a file that cannot be read at all is worth a warning.
  if (!p.status.ok()) {
    b.has_table = false;
    ++stats_.binaries_without_table;
    if (p.always_warn || !absl::IsNotFound(p.status)) {
      warn_(absl::StrCat(m.path, ": no unwind table (", p.status.message(),
                         "); its frames are walked with frame pointers"));
    }
    return;
  }
  b.segments = std::move(p.segments);
  b.has_table = true;
  if (absl::Status s = Load(key, b, p.table); !s.ok()) {
    // Kept as "has a table": a later process may find room after evictions.
    warn_(absl::StrCat(m.path, ": ", s.message()));
  }
}

UnwindTables::Binary& UnwindTables::Acquire(const formats::Mapping& m, const std::string& key) {
  auto [it, inserted] = binaries_.try_emplace(key);
  Binary& b = it->second;
  if (!inserted && !b.has_table) return b;  // failed before: not retried
  if (b.resident) {
    lru_.splice(lru_.begin(), lru_, b.lru);
    return b;
  }
  Prepared p = Prepare(mode_, m.path);
  if (after_build_) after_build_();
  Install(m, key, b, std::move(p));
  return b;
}

absl::Status UnwindTables::UpdateProcess(uint32_t pid,
                                         const std::vector<const formats::Mapping*>& mappings) {
  // Twice when tables must be built: first with what is loaded already, so
  // that e.g. the C library's table (shared with other processes) is used
  // at once rather than after this process's other tables are built.
  bool missing = false;
  RETURN_IF_ERROR(Publish(pid, mappings, /*build=*/false, &missing));
  if (!missing) return absl::OkStatus();
  if (!lazy_) return Publish(pid, mappings, /*build=*/true, &missing);
  formats::Mapping vdso;
  for (const formats::Mapping* m : mappings) {
    m = TableMapping(m, &vdso);
    if (m == nullptr) continue;
    const std::string key = KeyOf(*m);
    auto it = binaries_.find(key);
    if (it != binaries_.end() && (!it->second.has_table || it->second.resident)) continue;
    std::vector<uint32_t>& pids = waiting_[key];
    if (std::find(pids.begin(), pids.end(), pid) == pids.end()) pids.push_back(pid);
  }
  return absl::OkStatus();
}

const formats::Mapping* UnwindTables::TableMapping(const formats::Mapping* m,
                                                   formats::Mapping* vdso) const {
  if (m->path == "[vdso]" && !vdso_path_.empty()) {
    *vdso = *m;
    vdso->path = vdso_path_;
    return vdso;
  }
  // Anonymous code ("" from /proc, "//anon" from the kernel's MMAP2), the
  // vDSO without an image, and files no longer there have no table.
  if (m->path.empty() || m->path[0] != '/' || m->path.starts_with("//") ||
      m->path.ends_with(" (deleted)")) {
    return nullptr;
  }
  return m;
}

void UnwindTables::Want(const formats::Mapping& mapping) {
  formats::Mapping vdso;
  const formats::Mapping* m = TableMapping(&mapping, &vdso);
  if (m == nullptr) return;
  std::string key = KeyOf(*m);
  auto it = binaries_.find(key);
  if (it != binaries_.end() && (!it->second.has_table || it->second.resident)) return;
  if (building_.contains(key)) return;
  wanted_.try_emplace(std::move(key), *m);
}

std::vector<uint32_t> UnwindTables::BuildWanted() {
  std::vector<std::string> built;
  if (worker_) {
    for (auto& [key, m] : std::exchange(wanted_, {})) {
      if (!building_.contains(key)) {
        worker_->Submit(key, m.path);
        building_.emplace(key, std::move(m));
      }
    }
    for (Prepared& p : worker_->TakeDone()) {
      auto job = building_.find(p.key);
      if (job == building_.end()) continue;
      const formats::Mapping m = std::move(job->second);
      building_.erase(job);
      auto [it, inserted] = binaries_.try_emplace(p.key);
      // Decided meanwhile (Preload built it, or it failed before): kept.
      if (!inserted && (!it->second.has_table || it->second.resident)) continue;
      std::string key = p.key;
      Install(m, key, it->second, std::move(p));
      built.push_back(std::move(key));
    }
  } else {
    for (auto& [key, m] : std::exchange(wanted_, {})) {
      Acquire(m, key);
      built.push_back(key);
    }
  }
  std::vector<uint32_t> pids;
  for (const std::string& key : built) {
    auto w = waiting_.find(key);
    if (w == waiting_.end()) continue;
    pids.insert(pids.end(), w->second.begin(), w->second.end());
    waiting_.erase(w);
  }
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

absl::Status UnwindTables::Publish(uint32_t pid,
                                   const std::vector<const formats::Mapping*>& mappings, bool build,
                                   bool* missing) {
  auto pm = std::make_unique<rp_proc_maps>();
  formats::Mapping vdso;
  // Every executable mapping gets an entry: with its table, or
  // RP_BIN_NONE where there is none to come (frame pointers there). A
  // mapping left out is one whose table is not built or not resident yet:
  // the BPF walk defers to user space there.
  auto add = [&](const formats::Mapping& m, uint32_t bin, uint32_t generation, uint64_t bias) {
    if (pm->count == RP_MAX_PROC_MAPS) {
      ++stats_.mappings_dropped;
      return;
    }
    rp_map_entry& e = pm->entries[pm->count++];
    e.start = m.start;
    e.end = m.end;
    e.bias = bias;
    e.bin = bin;
    e.generation = generation;
  };
  for (const formats::Mapping* original : mappings) {
    const formats::Mapping* m = TableMapping(original, &vdso);
    if (m == nullptr) {
      add(*original, RP_BIN_NONE, 0, 0);  // anonymous code, or a file no longer there
      continue;
    }
    const std::string key = KeyOf(*m);
    if (!build) {
      auto it = binaries_.find(key);
      if (it == binaries_.end() || (it->second.has_table && !it->second.resident)) {
        *missing = true;
        continue;
      }
    }
    Binary& b = Acquire(*m, key);
    if (!b.has_table) {
      add(*m, RP_BIN_NONE, 0, 0);
      continue;
    }
    if (!b.resident) continue;  // no room now: deferred walks there
    // The PT_LOAD that holds the mapping's file offset gives the bias.
    const unwind::LoadSegment* seg = nullptr;
    for (const unwind::LoadSegment& s : b.segments) {
      if (m->pgoff >= (s.offset & ~uint64_t{4095}) && m->pgoff < s.offset + s.filesz) seg = &s;
    }
    if (seg == nullptr) {
      add(*m, RP_BIN_NONE, 0, 0);
      continue;
    }
    add(*m, b.slot, b.generation, m->start - m->pgoff - (seg->vaddr - seg->offset));
  }
  if (pm->count == 0) return RemoveProcess(pid);
  // The same list again (a mapping without a table was added, or the
  // first pass already wrote it) is not rewritten: a rewrite would give it
  // a new stamp and empty the BPF row cache of this process for nothing.
  std::vector<rp_map_entry> entries(pm->entries, pm->entries + pm->count);
  auto it = written_.find(pid);
  if (it != written_.end() && it->second.size() == entries.size() &&
      std::memcmp(it->second.data(), entries.data(), entries.size() * sizeof(rp_map_entry)) == 0) {
    return absl::OkStatus();
  }
  // A new stamp for every write invalidates the BPF row cache's entries
  // for the previous list (0 means an empty cache entry).
  if (++last_stamp_ == 0) ++last_stamp_;
  pm->stamp = last_stamp_;
  RETURN_IF_ERROR(writer_->WriteProcMaps(pid, *pm));
  written_[pid] = std::move(entries);
  return absl::OkStatus();
}

std::string UnwindTables::KeyOf(const formats::Mapping& m) {
  return m.build_id.empty() ? absl::StrCat("path:", m.path) : absl::StrCat("id:", m.build_id);
}

void UnwindTables::Preload(const std::string& path) {
  formats::Mapping m;
  m.path = path;
  absl::StatusOr<std::string> id = unwind::ReadGnuBuildId(path);
  if (id.ok()) m.build_id = *id;
  Acquire(m, KeyOf(m));
}

absl::Status UnwindTables::RemoveProcess(uint32_t pid) {
  written_.erase(pid);
  for (auto& [key, pids] : waiting_)
    pids.erase(std::remove(pids.begin(), pids.end(), pid), pids.end());
  absl::Status s = writer_->DeleteProcMaps(pid);
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

}  // namespace ringprof::collector
