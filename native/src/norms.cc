// LayerNorm and RMSNorm over the last axis of [rows, cols], with backward passes.
// Per-row work is parallel over rows; parameter gradients are parallel over column
// blocks (each column summed over rows in order: deterministic for any thread count).
#include <cmath>

#include "kernels.h"
#include "rowops.h"
#include "threadpool.h"
#include "validate.h"

namespace imp {
namespace {

std::string rc(int64_t rows, int64_t cols) { return "rows=" + std::to_string(rows) + ", cols=" + std::to_string(cols); }

// Column-parallel reduction over rows: f(r, c0, c1, acc) adds row r's contribution for
// columns [c0, c1) into acc[0 : c1-c0].
template <class F>
void column_reduce(int64_t rows, int64_t cols, float* out, bool accumulate, F&& f) {
  const int64_t CB = 256;
  const int64_t blocks = (cols + CB - 1) / CB;
  // split columns into blocks of CB, but let 2+ threads share when cols is small
  const int64_t unit = blocks >= pool_threads() ? CB : std::max<int64_t>(16, (cols + pool_threads() - 1) / pool_threads());
  const int64_t units = (cols + unit - 1) / unit;
  const int64_t grain = std::max<int64_t>(1, kElemGrain / std::max<int64_t>(1, rows * unit));
  parallel_for(units, grain, [&](int64_t u0, int64_t u1) {
    float acc[256];  // unit <= 256 by construction
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t c0 = u * unit, c1 = std::min(cols, c0 + unit);
      for (int64_t j = 0; j < unit; ++j) acc[j] = 0.0f;
      for (int64_t r = 0; r < rows; ++r) f(r, c0, c1, acc);
      for (int64_t c = c0; c < c1; ++c) out[c] = accumulate ? out[c] + acc[size_t(c - c0)] : acc[size_t(c - c0)];
    }
  });
}

}  // namespace

Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Args a{info, "layerNorm"};
  a.count(9);
  F32 x = a.f32(0, "x"), w = a.f32_or_null(1, "weight"), bias = a.f32_or_null(2, "bias");
  F32 out = a.f32(3, "out"), mean = a.f32(4, "mean"), rstd = a.f32(5, "rstd");
  const int64_t rows = a.size(6, "rows"), cols = a.size(7, "cols");
  const float eps = float(a.number(8, "eps"));
  const int64_t n = checked_mul(a, rows, cols);
  a.need("x", x.n, n, rc(rows, cols));
  a.need("out", out.n, n, rc(rows, cols));
  a.need("mean", mean.n, rows, "rows=" + std::to_string(rows));
  a.need("rstd", rstd.n, rows, "rows=" + std::to_string(rows));
  if (w.present) a.need("weight", w.n, cols, "cols=" + std::to_string(cols));
  if (bias.present) a.need("bias", bias.n, cols, "cols=" + std::to_string(cols));
  parallel_for(rows, std::max<int64_t>(1, kElemGrain / std::max<int64_t>(1, cols)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x.p + r * cols;
      float* orow = out.p + r * cols;
      float mu = 0.0f, var = 0.0f;
      if (cols > 0) {
        mu = row_sum(xr, cols) / float(cols);
        vf acc = vzero();
        const vf m = vset(mu);
        vec_loop(0, cols, [&](int64_t i, int c) {
          vf d = ld(xr + i, c, mu) - m;
          acc = vfma(d, d, acc);
        });
        var = hsum(acc) / float(cols);
      }
      const float rs = 1.0f / std::sqrt(var + eps);
      mean.p[r] = mu;
      rstd.p[r] = rs;
      const vf m = vset(mu), s = vset(rs);
      vec_loop(0, cols, [&](int64_t i, int c) {
        vf y = (ld(xr + i, c) - m) * s;
        if (w.present) y = y * ld(w.p + i, c);
        if (bias.present) y = y + ld(bias.p + i, c);
        st(orow + i, y, c);
      });
    }
  });
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Args a{info, "layerNormBackward"};
  a.count(12);
  F32 x = a.f32(0, "x"), w = a.f32_or_null(1, "weight"), mean = a.f32(2, "mean"), rstd = a.f32(3, "rstd");
  F32 go = a.f32(4, "gradOut"), gx = a.f32(5, "gradX"), gw = a.f32_or_null(6, "gradWeight"), gb = a.f32_or_null(7, "gradBias");
  const int64_t rows = a.size(8, "rows"), cols = a.size(9, "cols");
  const bool accX = a.boolean(10, "accumulateX"), accP = a.boolean(11, "accumulateParams");
  const int64_t n = checked_mul(a, rows, cols);
  a.need("x", x.n, n, rc(rows, cols));
  a.need("gradOut", go.n, n, rc(rows, cols));
  a.need("gradX", gx.n, n, rc(rows, cols));
  a.need("mean", mean.n, rows, "rows=" + std::to_string(rows));
  a.need("rstd", rstd.n, rows, "rows=" + std::to_string(rows));
  if (w.present) a.need("weight", w.n, cols, "cols=" + std::to_string(cols));
  if (gw.present) a.need("gradWeight", gw.n, cols, "cols=" + std::to_string(cols));
  if (gb.present) a.need("gradBias", gb.n, cols, "cols=" + std::to_string(cols));
  // Parameter gradients first (they read gradOut, which gradX may alias when accumulating).
  if (gw.present) {
    column_reduce(rows, cols, gw.p, accP, [&](int64_t r, int64_t c0, int64_t c1, float* acc) {
      const float* xr = x.p + r * cols;
      const float* g = go.p + r * cols;
      const float mu = mean.p[r], rs = rstd.p[r];
      for (int64_t c = c0; c < c1; ++c) acc[c - c0] += g[c] * ((xr[c] - mu) * rs);
    });
  }
  if (gb.present) {
    column_reduce(rows, cols, gb.p, accP, [&](int64_t r, int64_t c0, int64_t c1, float* acc) {
      const float* g = go.p + r * cols;
      for (int64_t c = c0; c < c1; ++c) acc[c - c0] += g[c];
    });
  }
  if (cols == 0) return info.Env().Undefined();
  parallel_for(rows, std::max<int64_t>(1, kElemGrain / std::max<int64_t>(1, cols)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x.p + r * cols;
      const float* g = go.p + r * cols;
      float* o = gx.p + r * cols;
      const vf m = vset(mean.p[r]), s = vset(rstd.p[r]);
      vf sg = vzero(), sgx = vzero();
      vec_loop(0, cols, [&](int64_t i, int c) {
        vf gi = ld(g + i, c);
        if (w.present) gi = gi * ld(w.p + i, c);
        vf xh = (ld(xr + i, c, mean.p[r]) - m) * s;
        sg = sg + gi;
        sgx = vfma(gi, xh, sgx);
      });
      const vf mg = vset(hsum(sg) / float(cols)), mgx = vset(hsum(sgx) / float(cols));
      vec_loop(0, cols, [&](int64_t i, int c) {
        vf gi = ld(g + i, c);
        if (w.present) gi = gi * ld(w.p + i, c);
        vf xh = (ld(xr + i, c) - m) * s;
        st_acc(o + i, s * (gi - mg - xh * mgx), c, accX);
      });
    }
  });
  return info.Env().Undefined();
}

Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  Args a{info, "rmsNorm"};
  a.count(8);
  F32 x = a.f32(0, "x"), w = a.f32_or_null(1, "weight"), out = a.f32(2, "out"), rstd = a.f32(3, "rstd");
  const int64_t rows = a.size(4, "rows"), cols = a.size(5, "cols");
  const float eps = float(a.number(6, "eps"));
  const float off = float(a.number(7, "weightOffset"));
  const int64_t n = checked_mul(a, rows, cols);
  a.need("x", x.n, n, rc(rows, cols));
  a.need("out", out.n, n, rc(rows, cols));
  a.need("rstd", rstd.n, rows, "rows=" + std::to_string(rows));
  if (w.present) a.need("weight", w.n, cols, "cols=" + std::to_string(cols));
  parallel_for(rows, std::max<int64_t>(1, kElemGrain / std::max<int64_t>(1, cols)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x.p + r * cols;
      float* orow = out.p + r * cols;
      const float ms = cols > 0 ? row_dot(xr, xr, cols) / float(cols) : 0.0f;
      const float rs = 1.0f / std::sqrt(ms + eps);
      rstd.p[r] = rs;
      const vf s = vset(rs), o = vset(off);
      vec_loop(0, cols, [&](int64_t i, int c) {
        vf y = ld(xr + i, c) * s;
        if (w.present) y = y * (o + ld(w.p + i, c));
        st(orow + i, y, c);
      });
    }
  });
  return info.Env().Undefined();
}

Napi::Value RmsNormBackward(const Napi::CallbackInfo& info) {
  Args a{info, "rmsNormBackward"};
  a.count(11);
  F32 x = a.f32(0, "x"), w = a.f32_or_null(1, "weight"), rstd = a.f32(2, "rstd"), go = a.f32(3, "gradOut");
  F32 gx = a.f32(4, "gradX"), gw = a.f32_or_null(5, "gradWeight");
  const int64_t rows = a.size(6, "rows"), cols = a.size(7, "cols");
  const float off = float(a.number(8, "weightOffset"));
  const bool accX = a.boolean(9, "accumulateX"), accP = a.boolean(10, "accumulateParams");
  const int64_t n = checked_mul(a, rows, cols);
  a.need("x", x.n, n, rc(rows, cols));
  a.need("gradOut", go.n, n, rc(rows, cols));
  a.need("gradX", gx.n, n, rc(rows, cols));
  a.need("rstd", rstd.n, rows, "rows=" + std::to_string(rows));
  if (w.present) a.need("weight", w.n, cols, "cols=" + std::to_string(cols));
  if (gw.present) a.need("gradWeight", gw.n, cols, "cols=" + std::to_string(cols));
  if (gw.present) {
    column_reduce(rows, cols, gw.p, accP, [&](int64_t r, int64_t c0, int64_t c1, float* acc) {
      const float* xr = x.p + r * cols;
      const float* g = go.p + r * cols;
      const float rs = rstd.p[r];
      for (int64_t c = c0; c < c1; ++c) acc[c - c0] += g[c] * (xr[c] * rs);
    });
  }
  if (cols == 0) return info.Env().Undefined();
  parallel_for(rows, std::max<int64_t>(1, kElemGrain / std::max<int64_t>(1, cols)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x.p + r * cols;
      const float* g = go.p + r * cols;
      float* o = gx.p + r * cols;
      const float rs = rstd.p[r];
      const vf ov = vset(off);
      vf sgx = vzero();
      vec_loop(0, cols, [&](int64_t i, int c) {
        vf gi = ld(g + i, c);
        if (w.present) gi = gi * (ov + ld(w.p + i, c));
        sgx = vfma(gi, ld(xr + i, c), sgx);
      });
      const float k = hsum(sgx) / float(cols) * rs * rs * rs;
      const vf s = vset(rs), kv = vset(k);
      vec_loop(0, cols, [&](int64_t i, int c) {
        vf gi = ld(g + i, c);
        if (w.present) gi = gi * (ov + ld(w.p + i, c));
        st_acc(o + i, s * gi - kv * ld(xr + i, c), c, accX);
      });
    }
  });
  return info.Env().Undefined();
}

}  // namespace imp
