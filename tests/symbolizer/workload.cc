// Workload with known symbols for the symbolizer tests. Lines tagged
// "MARK:<name>" are looked up by the tests; keep each tag on its line.
#include <cstdio>
#include <cstdlib>

namespace rp_workload {

volatile int sink;

__attribute__((always_inline)) inline int InlinedLeaf(int x) {
  return x * x + sink;  // MARK:leaf_body
}

__attribute__((noinline)) int OuterWithInline(int x) {  // MARK:outer_def
  int total = 0;
  for (int i = 0; i < x; ++i) {
    total += InlinedLeaf(i + x);  // MARK:outer_call
  }
  return total;
}

__attribute__((noinline)) int ChainC(int x) {  // MARK:chain_c
  sink = x;
  return x + sink;
}

__attribute__((noinline)) int ChainB(int x) {  // MARK:chain_b
  return ChainC(x + 1) * 2;
}

__attribute__((noinline)) int ChainA(int x) {  // MARK:chain_a
  return ChainB(x + 2) + 1;
}

template <typename T>
__attribute__((noinline)) T Accumulate(const T* values, int n) {  // MARK:accumulate
  T sum{};
  for (int i = 0; i < n; ++i) sum += values[i] * static_cast<T>(sink + 1);
  return sum;
}

}  // namespace rp_workload

extern "C" __attribute__((noinline)) int plain_c_function(int x) {  // MARK:plain_c
  return x ^ rp_workload::sink;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 10;
  long values[4] = {1, 2, 3, 4};
  double dvalues[2] = {0.5, 1.5};
  int r = rp_workload::OuterWithInline(n) + rp_workload::ChainA(n) + plain_c_function(n);
  r += static_cast<int>(rp_workload::Accumulate(values, 4) + rp_workload::Accumulate(dvalues, 2));
  std::printf("%d\n", r);
  return 0;
}
