#include "base/escape.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>

namespace ringprof {
namespace {

using namespace std::string_literals;

// The inverse of EscapeText, written independently: "\\" is '\' and
// "\xNN" byte NN; anything else after a backslash is not an escape.
std::optional<std::string> Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '\\') {
      out += '\\';
      ++i;
      continue;
    }
    if (i + 3 >= s.size() || s[i + 1] != 'x') return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;  // upper case is never written
    };
    const int hi = hex(s[i + 2]), lo = hex(s[i + 3]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 3;
  }
  return out;
}

TEST(EscapeTest, WellFormedUtf8IsKept) {
  for (const std::string& s : {""s, "plain ascii: main() [vdso] +0x10 ~!@#$%^&*()"s,
                               "caf\xc3\xa9"s,                  // U+00E9, 2 bytes
                               "\xc2\xa0"s,                     // U+00A0, first after C1
                               "\xe2\x82\xac \xe6\x97\xa5"s,    // U+20AC, U+65E5, 3 bytes
                               "\xef\xbf\xbd"s,                 // U+FFFD
                               "\xf0\x9f\x94\xa5"s,             // U+1F525, 4 bytes
                               "\xf4\x8f\xbf\xbf"s,             // U+10FFFF, the last
                               "\xed\x9f\xbf\xee\x80\x80"s}) {  // around the surrogates
    EXPECT_TRUE(IsValidUtf8(s)) << EscapeText(s);
    EXPECT_TRUE(IsPrintableText(s)) << EscapeText(s);
    EXPECT_EQ(EscapeText(s), s);
    EXPECT_EQ(EscapeIfNotPrintable(s), s);
  }
}

TEST(EscapeTest, BytesThatAreNotUtf8AreEscaped) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"caf\xe9", "caf\\xe9"},                       // Latin-1
      {"\x80", "\\x80"},                             // lone continuation byte
      {"\xc3", "\\xc3"},                             // truncated at the end
      {"\xe2\x82", "\\xe2\\x82"},                    // truncated 3-byte sequence
      {"\xe2\x82x", "\\xe2\\x82x"},                  // broken by ASCII
      {"\xe2\x82\xc3\xa9", "\\xe2\\x82\xc3\xa9"},    // the next character survives
      {"\xf0\x9f\x94", "\\xf0\\x9f\\x94"},           // truncated 4-byte sequence
      {"\xc0\xaf", "\\xc0\\xaf"},                    // overlong '/'
      {"\xc1\xbf", "\\xc1\\xbf"},                    // overlong
      {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},           // overlong, 3 bytes
      {"\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"},  // overlong, 4 bytes
      {"\xed\xa0\x80", "\\xed\\xa0\\x80"},           // surrogate U+D800
      {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},  // above U+10FFFF
      {"\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"},  //
      {"\xfe\xff", "\\xfe\\xff"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(IsValidUtf8(c.in)) << c.out;
    EXPECT_FALSE(IsPrintableText(c.in)) << c.out;
    EXPECT_EQ(EscapeText(c.in), c.out);
    EXPECT_EQ(EscapeIfNotPrintable(c.in), c.out);
    EXPECT_TRUE(IsPrintableText(EscapeText(c.in)));
  }
}

TEST(EscapeTest, NulAndControlCharactersAreEscaped) {
  const std::string nul = "a\0b"s;
  ASSERT_EQ(nul.size(), 3u);
  EXPECT_TRUE(IsValidUtf8(nul));  // valid UTF-8, but not printable
  EXPECT_FALSE(IsPrintableText(nul));
  EXPECT_EQ(EscapeText(nul), "a\\x00b");
  EXPECT_EQ(EscapeText("\x01\t\n\r\x1b[31m\x1f"), "\\x01\\x09\\x0a\\x0d\\x1b[31m\\x1f");
  EXPECT_EQ(EscapeText("rm\x7f"), "rm\\x7f");  // DEL
  // C1 controls (U+0080..U+009F) are well-formed UTF-8, two bytes each.
  EXPECT_TRUE(IsValidUtf8("\xc2\x85\xc2\x9b"));
  EXPECT_FALSE(IsPrintableText("\xc2\x9b"));
  EXPECT_EQ(EscapeText("x\xc2\x85y\xc2\x9b"), "x\\xc2\\x85y\\xc2\\x9b");
  EXPECT_EQ(EscapeText("\xc2\x9f\xc2\xa0"), "\\xc2\\x9f\xc2\xa0");  // U+00A0 is printable
  EXPECT_EQ(EscapeText(" ~"), " ~");
}

TEST(EscapeTest, BackslashIsDoubledSoEscapesAreUnambiguous) {
  // The text "\xe9" and the byte 0xE9 must not come out the same.
  EXPECT_EQ(EscapeText("caf\\xe9"), "caf\\\\xe9");
  EXPECT_EQ(EscapeText("caf\xe9"), "caf\\xe9");
  EXPECT_EQ(EscapeText("C:\\dir\\"), "C:\\\\dir\\\\");
  // Printable text with a backslash is printable: kept by the safety net,
  // so what BuildProfile escaped is never escaped twice.
  EXPECT_TRUE(IsPrintableText("caf\\xe9"));
  EXPECT_EQ(EscapeIfNotPrintable("caf\\xe9"), "caf\\xe9");
  EXPECT_EQ(EscapeIfNotPrintable(EscapeText("a\\b\x01")), EscapeText("a\\b\x01"));
  // Not printable: the full escape, backslashes doubled too.
  EXPECT_EQ(EscapeIfNotPrintable("a\\b\x01"), "a\\\\b\\x01");
}

TEST(EscapeTest, AppendsAfterExistingText) {
  std::string out = "name: ";
  AppendEscapedText("\xe9t\xe9", &out);
  EXPECT_EQ(out, "name: \\xe9t\\xe9");
}

// Random byte strings (biased towards UTF-8 lead and continuation bytes,
// controls and backslashes): the escape is printable, one-to-one (it
// reads back to the input), and keeps every string that is printable and
// has no backslash.
TEST(EscapeTest, RandomBytesRoundTrip) {
  std::mt19937 rng(12345);
  const unsigned char kInteresting[] = {0x00, 0x01, 0x0a, 0x1f, 0x7f, '\\', 'x',  'a',
                                        0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0,
                                        0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, ';',  ' '};
  for (int round = 0; round < 20000; ++round) {
    std::string s(rng() % 12, '\0');
    for (char& c : s) {
      c = static_cast<char>(rng() % 3 == 0 ? rng() % 256
                                           : kInteresting[rng() % sizeof kInteresting]);
    }
    const std::string e = EscapeText(s);
    ASSERT_TRUE(IsPrintableText(e)) << e;
    ASSERT_TRUE(IsValidUtf8(e)) << e;
    std::optional<std::string> back = Unescape(e);
    ASSERT_TRUE(back.has_value()) << e;
    ASSERT_EQ(*back, s) << e;
    if (IsPrintableText(s) && s.find('\\') == std::string::npos) {
      ASSERT_EQ(e, s);
    }
    ASSERT_EQ(EscapeIfNotPrintable(e), e);
  }
}

}  // namespace
}  // namespace ringprof
