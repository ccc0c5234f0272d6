// Softmax / log-softmax over the last axis of [rows, cols] and their backward passes.
#include <cmath>

#include "kernels.h"
#include "rowops.h"
#include "threadpool.h"
#include "validate.h"

namespace imp {
namespace {

std::string rc(int64_t rows, int64_t cols) { return "rows=" + std::to_string(rows) + ", cols=" + std::to_string(cols); }
int64_t row_grain(int64_t cols) { return std::max<int64_t>(1, kElemGrain / 4 / std::max<int64_t>(1, cols)); }

struct RowArgs {
  int64_t rows, cols;
};

}  // namespace

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Args a{info, "softmax"};
  a.count(4);
  F32 x = a.f32(0, "x"), out = a.f32(1, "out");
  const int64_t rows = a.size(2, "rows"), cols = a.size(3, "cols");
  const int64_t n = checked_mul(a, rows, cols);
  a.need("x", x.n, n, rc(rows, cols));
  a.need("out", out.n, n, rc(rows, cols));
  if (cols == 0) return info.Env().Undefined();
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x.p + r * cols;
      float* o = out.p + r * cols;
      const float m = row_max(xr, cols);
      const float sum = row_exp_sum(xr, m, o, cols);
      const vf inv = vset(1.0f / sum);
      vec_loop(0, cols, [&](int64_t i, int c) { st(o + i, ld(o + i, c) * inv, c); });
    }
  });
  return info.Env().Undefined();
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Args a{info, "softmaxBackward"};
  a.count(6);
  F32 y = a.f32(0, "y"), g = a.f32(1, "gradOut"), gi = a.f32(2, "gradIn");
  const int64_t rows = a.size(3, "rows"), cols = a.size(4, "cols");
  const bool acc = a.boolean(5, "accumulate");
  const int64_t n = checked_mul(a, rows, cols);
  a.need("y", y.n, n, rc(rows, cols));
  a.need("gradOut", g.n, n, rc(rows, cols));
  a.need("gradIn", gi.n, n, rc(rows, cols));
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* yr = y.p + r * cols;
      const float* gr = g.p + r * cols;
      float* o = gi.p + r * cols;
      const vf d = vset(row_dot(gr, yr, cols));
      vec_loop(0, cols, [&](int64_t i, int c) { st_acc(o + i, ld(yr + i, c) * (ld(gr + i, c) - d), c, acc); });
    }
  });
  return info.Env().Undefined();
}

Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  Args a{info, "logSoftmax"};
  a.count(4);
  F32 x = a.f32(0, "x"), out = a.f32(1, "out");
  const int64_t rows = a.size(2, "rows"), cols = a.size(3, "cols");
  const int64_t n = checked_mul(a, rows, cols);
  a.need("x", x.n, n, rc(rows, cols));
  a.need("out", out.n, n, rc(rows, cols));
  if (cols == 0) return info.Env().Undefined();
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x.p + r * cols;
      float* o = out.p + r * cols;
      const float m = row_max(xr, cols);
      const float lse = m + std::log(row_exp_sum(xr, m, nullptr, cols));
      const vf l = vset(lse);
      vec_loop(0, cols, [&](int64_t i, int c) { st(o + i, ld(xr + i, c) - l, c); });
    }
  });
  return info.Env().Undefined();
}

Napi::Value LogSoftmaxBackward(const Napi::CallbackInfo& info) {
  Args a{info, "logSoftmaxBackward"};
  a.count(6);
  F32 y = a.f32(0, "y"), g = a.f32(1, "gradOut"), gi = a.f32(2, "gradIn");
  const int64_t rows = a.size(3, "rows"), cols = a.size(4, "cols");
  const bool acc = a.boolean(5, "accumulate");
  const int64_t n = checked_mul(a, rows, cols);
  a.need("y", y.n, n, rc(rows, cols));
  a.need("gradOut", g.n, n, rc(rows, cols));
  a.need("gradIn", gi.n, n, rc(rows, cols));
  parallel_for(rows, row_grain(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* yr = y.p + r * cols;
      const float* gr = g.p + r * cols;
      float* o = gi.p + r * cols;
      const vf s = vset(row_sum(gr, cols));
      vec_loop(0, cols, [&](int64_t i, int c) {
        st_acc(o + i, ld(gr + i, c) - vexp(ld(yr + i, c)) * s, c, acc);
      });
    }
  });
  return info.Env().Undefined();
}

}  // namespace imp
