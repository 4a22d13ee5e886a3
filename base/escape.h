// Making names printable: paths, comms and symbols come from the kernel and
// from ELF files as raw bytes. Linux allows any byte but '/' and NUL in a
// file name (Latin-1 "caf\xe9" included), and a comm may hold control
// characters. Raw, such bytes make invalid UTF-8 in pprof's string table
// (protobuf rejects it), forbidden characters in XML, extra lines in folded
// stacks, and escape sequences on a terminal.
//
// The escape: well-formed UTF-8 is kept as it is, except for control
// characters. Each byte that is not part of a well-formed UTF-8 sequence,
// and each byte of a C0 control (U+0000..U+001F, NUL, tab and newline
// included), DEL (U+007F) or C1 control (U+0080..U+009F, two bytes each),
// becomes "\xNN" (two lower-case hex digits). A backslash becomes "\\", so
// a name that really holds the text "\xe9" (escaped: "\\xe9") never reads
// like the byte 0xE9 (escaped: "\xe9"): the escape is one-to-one, and
// reading "\\" as '\' and "\xNN" as byte NN gives the raw bytes back.
//
// "Well-formed" is the Unicode definition (Table 3-7): no overlong forms,
// no surrogates (U+D800..U+DFFF), nothing above U+10FFFF. A truncated or
// broken sequence has each of its bytes escaped, and the bytes after it are
// read afresh, so one bad byte does not swallow the character that follows.
#ifndef RINGPROF_BASE_ESCAPE_H_
#define RINGPROF_BASE_ESCAPE_H_

#include <string>
#include <string_view>

namespace ringprof {

// Whether `s` is well-formed UTF-8 (what protobuf requires of a string).
bool IsValidUtf8(std::string_view s);

// Whether `s` is well-formed UTF-8 without control characters (C0, DEL,
// C1): text that is safe to print, to put in XML and on one folded line.
bool IsPrintableText(std::string_view s);

// The escape described above. Always printable text (IsPrintableText).
std::string EscapeText(std::string_view s);
void AppendEscapedText(std::string_view s, std::string* out);

// `s` unchanged when it is already printable text, else EscapeText(s). For
// outputs that must be safe whatever they are given: the profile builder
// escapes every name once (report/profile_builder.h), and its names, being
// printable, are never escaped twice. A backslash in printable text is
// kept as it is.
std::string EscapeIfNotPrintable(std::string_view s);

}  // namespace ringprof

#endif  // RINGPROF_BASE_ESCAPE_H_
