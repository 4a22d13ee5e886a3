// `ringprof addr2line`: binutils-compatible address to file:line lookup,
// backed by the symbolizer library (one batch for all addresses).
#include <getopt.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "symbolizer/symbolizer.h"

namespace ringprof::cli {
namespace {

constexpr char kUsage[] =
    "usage: ringprof addr2line [-e FILE] [-a] [-f] [-i] [-C] [-p] [-s] [ADDR...]\n"
    "\n"
    "Prints the source location (and with -f the function) of each address in\n"
    "FILE, in the output format of binutils addr2line. Addresses are hex, with\n"
    "or without 0x; without ADDR arguments they are read from stdin, one a line.\n"
    "\n"
    "options:\n"
    "  -e, --exe=FILE        ELF file to symbolize (default a.out)\n"
    "  -a, --addresses       print each address before its location\n"
    "  -f, --functions       print the function name before each location\n"
    "  -i, --inlines         print the whole inline chain, innermost first\n"
    "  -C, --demangle        demangle C++ names\n"
    "  -p, --pretty-print    one line per address\n"
    "  -s, --basenames       strip directories from file names\n"
    "      --debug-dir=DIR   separate debug info root (default /usr/lib/debug)\n"
    "      --symfs=DIR       extra root to search for debug info (repeatable)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status 1 when FILE is missing, not a regular file, not ELF or\n"
    "truncated (nothing is printed), or when its DWARF cannot be decoded (the\n"
    "addresses are still printed, then one error line on stderr).\n";

struct Flags {
  std::string exe = "a.out";
  bool addresses = false;
  bool functions = false;
  bool inlines = false;
  bool demangle = false;
  bool pretty = false;
  bool basenames = false;
};

// strtoull base 16, as binutils' bfd_scan_vma: "0x" optional, junk gives 0.
uint64_t ParseAddress(const char* text) { return std::strtoull(text, nullptr, 16); }

void AppendLocation(const symbolizer::SourceFrame& frame, uint32_t discriminator,
                    const Flags& flags, std::string& out) {
  if (flags.functions) {
    out += frame.function.empty() ? "??" : frame.function;
    out += flags.pretty ? " at " : "\n";
  }
  std::string_view file = frame.file;
  if (flags.basenames) {
    if (size_t slash = file.rfind('/'); slash != std::string_view::npos)
      file.remove_prefix(slash + 1);
  }
  if (file.empty()) file = "??";
  out.append(file);
  out += ':';
  if (frame.line == 0) {
    out += "?\n";
  } else if (discriminator != 0) {
    absl::StrAppendFormat(&out, "%d (discriminator %u)\n", frame.line, discriminator);
  } else {
    absl::StrAppendFormat(&out, "%d\n", frame.line);
  }
}

void AppendResult(uint64_t address, const symbolizer::SymbolizedAddress& result, const Flags& flags,
                  std::string& out) {
  if (flags.addresses)
    absl::StrAppendFormat(&out, "0x%016x%s", address, flags.pretty ? ": " : "\n");
  if (result.frames.empty()) {
    if (flags.functions) out += flags.pretty ? "?? " : "??\n";
    out += "??:0\n";
    return;
  }
  // binutils keeps the innermost row's discriminator for the whole chain.
  const uint32_t discriminator = result.frames[0].discriminator;
  const size_t count = flags.inlines ? result.frames.size() : 1;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0 && flags.pretty) out += " (inlined by) ";
    AppendLocation(result.frames[i], discriminator, flags, out);
  }
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "ringprof addr2line: %s\n", what.c_str());
  return 1;
}

}  // namespace

int RunAddr2line(int argc, char** argv) {
  enum { kDebugDir = 1000, kSymfs };
  static const option kOptions[] = {{"exe", required_argument, nullptr, 'e'},
                                    {"addresses", no_argument, nullptr, 'a'},
                                    {"functions", no_argument, nullptr, 'f'},
                                    {"inlines", no_argument, nullptr, 'i'},
                                    {"demangle", optional_argument, nullptr, 'C'},
                                    {"pretty-print", no_argument, nullptr, 'p'},
                                    {"basenames", no_argument, nullptr, 's'},
                                    {"debug-dir", required_argument, nullptr, kDebugDir},
                                    {"symfs", required_argument, nullptr, kSymfs},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  Flags flags;
  symbolizer::SymbolizerOptions options;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "e:afiCpsh", kOptions, nullptr)) != -1) {
    switch (c) {
      case 'e':
        flags.exe = optarg;
        break;
      case 'a':
        flags.addresses = true;
        break;
      case 'f':
        flags.functions = true;
        break;
      case 'i':
        flags.inlines = true;
        break;
      case 'C':
        flags.demangle = true;
        break;
      case 'p':
        flags.pretty = true;
        break;
      case 's':
        flags.basenames = true;
        break;
      case kDebugDir:
        options.debug_dir = optarg;
        break;
      case kSymfs:
        options.symfs.push_back(optarg);
        break;
      case 'h':
        std::fputs(kUsage, stdout);
        return 0;
      default:
        return Fail("bad option; run 'ringprof addr2line --help' for usage");
    }
  }
  options.demangle = flags.demangle;
  options.inlines = true;  // without -i only frames[0] is printed
  // binutils prints the names the files have (__GI___libc_malloc), not the
  // public aliases reports choose (docs/REPORTS.md).
  options.public_names = false;

  // The file is checked before addresses are read from stdin, as binutils
  // does: a bad -e fails at once instead of after the input ends.
  absl::StatusOr<std::unique_ptr<symbolizer::ElfSymbolizer>> elf =
      symbolizer::ElfSymbolizer::Open(flags.exe, options);
  if (!elf.ok()) {
    // binutils calls a directory or a FIFO given to -e a warning (and
    // still fails); the message already names the file.
    return Fail(absl::StrCat(absl::IsFailedPrecondition(elf.status()) ? "Warning: " : "",
                             elf.status().message()));
  }

  std::vector<uint64_t> addresses;
  if (optind < argc) {
    for (int i = optind; i < argc; ++i) addresses.push_back(ParseAddress(argv[i]));
  } else {
    std::string input;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) input.append(buf, n);
    size_t pos = 0;
    while (pos < input.size()) {
      size_t eol = input.find('\n', pos);
      if (eol == std::string::npos) eol = input.size();
      std::string line = input.substr(pos, eol - pos);
      addresses.push_back(ParseAddress(line.c_str()));
      pos = eol + 1;
    }
  }

  std::vector<symbolizer::SymbolizedAddress> results = (*elf)->SymbolizeVaddrs(addresses);
  std::string out;
  out.reserve(addresses.size() * 96);
  // DWARF that libdw cannot decode: the addresses still print (as ?? or
  // the symbol-table name, like binutils), then one error line says why.
  const absl::Status* first_error = nullptr;
  size_t error_addresses = 0;
  bool other_errors = false;
  for (size_t i = 0; i < addresses.size(); ++i) {
    AppendResult(addresses[i], results[i], flags, out);
    if (absl::IsDataLoss(results[i].status)) {
      ++error_addresses;
      if (first_error == nullptr) {
        first_error = &results[i].status;
      } else if (results[i].status.message() != first_error->message()) {
        other_errors = true;
      }
    }
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (std::fflush(stdout) != 0) return Fail("writing stdout failed");
  if (first_error != nullptr) {
    return Fail(absl::StrFormat("%s (%u of %u addresses%s)", first_error->message(),
                                error_addresses, addresses.size(),
                                other_errors ? "; other DWARF errors too" : ""));
  }
  return 0;
}

}  // namespace ringprof::cli
