// Shared inner-loop helpers: a lane loop with a padded tail (so tails run the exact
// same vector code), and ordered 8-lane row reductions.
#pragma once
#include <cstdint>

#include "simd.h"

namespace imp {

constexpr int64_t kElemGrain = 16384;  // elements per thread before splitting elementwise work

// Calls f(i, cnt) for i = b, b+8, ... with cnt = 8 except a final partial chunk.
template <class F>
inline void vec_loop(int64_t b, int64_t e, F&& f) {
  int64_t i = b;
  for (; i + VW <= e; i += VW) f(i, VW);
  if (i < e) f(i, int(e - i));
}
inline vf ld(const float* p, int cnt, float pad = 0.0f) { return cnt == VW ? vload(p) : vload_partial(p, cnt, pad); }
inline void st(float* p, vf v, int cnt) {
  if (cnt == VW) vstore(p, v);
  else vstore_partial(p, v, cnt);
}
// out = accumulate ? out + v : v
inline void st_acc(float* p, vf v, int cnt, bool acc) {
  if (acc) v = v + ld(p, cnt);
  st(p, v, cnt);
}

inline float row_sum(const float* x, int64_t n) {
  vf a0 = vzero(), a1 = vzero();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = a0 + vload(x + i);
    a1 = a1 + vload(x + i + 8);
  }
  for (; i + 8 <= n; i += 8) a0 = a0 + vload(x + i);
  if (i < n) a1 = a1 + vload_partial(x + i, int(n - i), 0.0f);
  return hsum(a0 + a1);
}
inline float row_dot(const float* x, const float* y, int64_t n) {
  vf a0 = vzero(), a1 = vzero();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = vfma(vload(x + i), vload(y + i), a0);
    a1 = vfma(vload(x + i + 8), vload(y + i + 8), a1);
  }
  for (; i + 8 <= n; i += 8) a0 = vfma(vload(x + i), vload(y + i), a0);
  if (i < n) a1 = vfma(vload_partial(x + i, int(n - i), 0.0f), vload_partial(y + i, int(n - i), 0.0f), a1);
  return hsum(a0 + a1);
}
// max of x[0:n] (n >= 1); NaN elements are ignored unless all are NaN.
inline float row_max(const float* x, int64_t n) {
  const float ninf = -__builtin_inff();
  vf m = vset(ninf);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) m = vmax(vload(x + i), m);
  if (i < n) m = vmax(vload_partial(x + i, int(n - i), ninf), m);
  return hmax(m);
}
// sum of exp(x - m), writing exp(x - m) to out when out != nullptr
inline float row_exp_sum(const float* x, float m, float* out, int64_t n) {
  vf s = vzero();
  const vf mv = vset(m);
  vec_loop(0, n, [&](int64_t i, int c) {
    vf e = vexp(ld(x + i, c) - mv);
    if (out) st(out + i, e, c);
    if (c < VW) {
      float buf[8];
      vstore(buf, e);
      for (int l = c; l < 8; ++l) buf[l] = 0.0f;
      e = vload(buf);
    }
    s = s + e;
  });
  return hsum(s);
}

}  // namespace imp
