#include "base/escape.h"

#include <cstddef>

namespace ringprof {
namespace {

unsigned char Byte(std::string_view s, size_t i) { return static_cast<unsigned char>(s[i]); }

// Length of the well-formed UTF-8 sequence that starts at s[i], or 0 when
// s[i] does not start one (Unicode Table 3-7).
size_t SequenceLength(std::string_view s, size_t i) {
  const unsigned char c = Byte(s, i);
  if (c < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong below U+0800
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong below U+10000
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // continuation byte, C0/C1 (overlong), F5..FF
  }
  if (s.size() - i < len) return 0;
  if (Byte(s, i + 1) < lo || Byte(s, i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if ((Byte(s, i + k) & 0xC0) != 0x80) return 0;
  }
  return len;
}

// Whether the well-formed sequence of `len` bytes at s[i] is a control
// character: C0 and DEL (one byte), C1 (U+0080..U+009F: C2 80..C2 9F).
bool IsControl(std::string_view s, size_t i, size_t len) {
  const unsigned char c = Byte(s, i);
  if (len == 1) return c < 0x20 || c == 0x7F;
  return len == 2 && c == 0xC2 && Byte(s, i + 1) < 0xA0;
}

void AppendHexByte(unsigned char c, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('\\');
  out->push_back('x');
  out->push_back(kHex[c >> 4]);
  out->push_back(kHex[c & 0xF]);
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = SequenceLength(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

bool IsPrintableText(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = SequenceLength(s, i);
    if (len == 0 || IsControl(s, i, len)) return false;
    i += len;
  }
  return true;
}

void AppendEscapedText(std::string_view s, std::string* out) {
  out->reserve(out->size() + s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t len = SequenceLength(s, i);
    if (len == 0) {
      AppendHexByte(Byte(s, i), out);
      ++i;
    } else if (IsControl(s, i, len)) {
      for (size_t k = 0; k < len; ++k) AppendHexByte(Byte(s, i + k), out);
      i += len;
    } else if (s[i] == '\\') {
      out->append("\\\\");
      ++i;
    } else {
      out->append(s.substr(i, len));
      i += len;
    }
  }
}

std::string EscapeText(std::string_view s) {
  std::string out;
  AppendEscapedText(s, &out);
  return out;
}

std::string EscapeIfNotPrintable(std::string_view s) {
  return IsPrintableText(s) ? std::string(s) : EscapeText(s);
}

}  // namespace ringprof
