// C++ half of the .eh_frame test workload: std::sort with a comparator,
// exceptions (landing pads, LSDA), virtual calls and a VLA-like alloca in a
// C++ frame. Run it to see that it works; the tests only read its tables.
#include <alloca.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "frames.h"

namespace {

struct Shape {
  virtual ~Shape() = default;
  virtual long Area(long k) const = 0;
};

struct Square : Shape {
  long side;
  explicit Square(long s) : side(s) {}
  long Area(long k) const override { return side * side + eh_vla_sum(static_cast<int>(k % 9) + 1); }
};

struct Strip : Shape {
  long len;
  explicit Strip(long l) : len(l) {}
  long Area(long k) const override {
    auto* tmp = static_cast<char*>(alloca(static_cast<size_t>(len % 128) + 16));
    std::memset(tmp, 1, static_cast<size_t>(len % 128) + 16);
    eh_sink(tmp);
    return len + tmp[k % 16];
  }
};

__attribute__((noinline)) long Checked(long v) {
  if (v % 97 == 13) throw std::runtime_error("unlucky " + std::to_string(v));
  return v * 3;
}

__attribute__((noinline)) long SortAndSum(std::vector<long>& values) {
  std::sort(values.begin(), values.end(), [](long a, long b) {
    return eh_vla_sum(static_cast<int>(a & 3) + 1) + a <
           eh_vla_sum(static_cast<int>(b & 3) + 1) + b;
  });
  long sum = 0;
  for (long v : values) {
    try {
      sum += Checked(v);
    } catch (const std::exception& e) {
      sum -= static_cast<long>(std::strlen(e.what()));
    }
  }
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  long n = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 200;
  std::vector<long> values;
  for (long i = 0; i < n; ++i) values.push_back((i * 7919) % 1009);
  std::vector<std::unique_ptr<Shape>> shapes;
  for (long i = 0; i < 16; ++i) {
    if (i % 2) {
      shapes.push_back(std::make_unique<Square>(i));
    } else {
      shapes.push_back(std::make_unique<Strip>(i));
    }
  }
  long total = SortAndSum(values) + eh_recurse(8, 1);
  for (long i = 0; i < n; ++i) total += shapes[static_cast<size_t>(i) % shapes.size()]->Area(i);
  std::printf("%ld\n", total);
  return 0;
}
