// Top-k selection per row (ties: lower index wins; NaN ranks above every number) and
// its straight-through backward.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"
#include "rowops.h"
#include "threadpool.h"
#include "validate.h"

namespace imp {

Napi::Value TopK(const Napi::CallbackInfo& info) {
  Args a{info, "topK"};
  a.count(6);
  F32 x = a.f32(0, "x"), out = a.f32(1, "out");
  I32 idx = a.i32(2, "indices");
  const int64_t rows = a.size(3, "rows"), cols = a.size(4, "cols"), k = a.size(5, "k");
  if (k > cols) a.range("k (" + std::to_string(k) + ") must be <= cols (" + std::to_string(cols) + ")");
  const int64_t n = checked_mul(a, rows, cols);
  a.need("x", x.n, n, "rows=" + std::to_string(rows) + ", cols=" + std::to_string(cols));
  a.need("out", out.n, n, "rows=" + std::to_string(rows) + ", cols=" + std::to_string(cols));
  a.need("indices", idx.n, checked_mul(a, rows, k), "rows=" + std::to_string(rows) + ", k=" + std::to_string(k));
  if (rows == 0 || cols == 0) return info.Env().Undefined();
  const int parts = parallel_plan(rows, std::max<int64_t>(1, kElemGrain / 8 / cols));
  static thread_local std::vector<int32_t> arena;
  if (arena.size() < size_t(parts * cols)) arena.resize(size_t(parts * cols));
  int32_t* scratch = arena.data();
  static thread_local std::vector<float> valsArena;
  if (valsArena.size() < size_t(parts * k)) valsArena.resize(size_t(parts * k));
  float* valsAll = valsArena.data();
  parallel_for_id(rows, parts, [&](int part, int64_t r0, int64_t r1) {
    int32_t* order = scratch + part * cols;
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x.p + r * cols;
      float* o = out.p + r * cols;
      auto before = [xr](int32_t i, int32_t j) {
        const float a = xr[i], b = xr[j];
        const bool na = std::isnan(a), nb = std::isnan(b);
        if (na != nb) return na;
        if (!na && a != b) return a > b;
        return i < j;
      };
      for (int64_t c = 0; c < cols; ++c) order[c] = int32_t(c);
      if (k > 0) {
        if (k < cols) std::nth_element(order, order + (k - 1), order + cols, before);
        std::sort(order, order + k, before);
      }
      // copy values before zeroing: out may alias x
      int32_t* ir = idx.p + r * k;
      for (int64_t j = 0; j < k; ++j) ir[j] = order[j];
      float* vals = valsAll + part * k;
      for (int64_t j = 0; j < k; ++j) vals[j] = xr[order[j]];
      std::fill(o, o + cols, 0.0f);
      for (int64_t j = 0; j < k; ++j) o[order[j]] = vals[j];
    }
  });
  return info.Env().Undefined();
}

Napi::Value TopKBackward(const Napi::CallbackInfo& info) {
  Args a{info, "topKBackward"};
  a.count(7);
  F32 g = a.f32(0, "gradOut");
  I32 idx = a.i32(1, "indices");
  F32 gi = a.f32(2, "gradIn");
  const int64_t rows = a.size(3, "rows"), cols = a.size(4, "cols"), k = a.size(5, "k");
  const bool acc = a.boolean(6, "accumulate");
  if (k > cols) a.range("k (" + std::to_string(k) + ") must be <= cols (" + std::to_string(cols) + ")");
  const int64_t n = checked_mul(a, rows, cols);
  a.need("gradOut", g.n, n, "rows=" + std::to_string(rows) + ", cols=" + std::to_string(cols));
  a.need("gradIn", gi.n, n, "rows=" + std::to_string(rows) + ", cols=" + std::to_string(cols));
  const int64_t nk = checked_mul(a, rows, k);
  a.need("indices", idx.n, nk, "rows=" + std::to_string(rows) + ", k=" + std::to_string(k));
  for (int64_t i = 0; i < nk; ++i)
    if (idx.p[i] < 0 || idx.p[i] >= cols)
      a.range("indices[" + std::to_string(i) + "] = " + std::to_string(idx.p[i]) + " is outside [0, cols=" +
              std::to_string(cols) + ")");
  parallel_for(rows, std::max<int64_t>(1, kElemGrain / std::max<int64_t>(1, cols)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* gr = g.p + r * cols;
      float* o = gi.p + r * cols;
      const int32_t* ir = idx.p + r * k;
      if (acc) {
        for (int64_t j = 0; j < k; ++j) o[ir[j]] += gr[ir[j]];
      } else {
        std::fill(o, o + cols, 0.0f);
        for (int64_t j = 0; j < k; ++j) o[ir[j]] = gr[ir[j]];
      }
    }
  });
  return info.Env().Undefined();
}

}  // namespace imp
