// Elementwise and strided kernels: fill, scaleInto, broadcastBinary, copyStrided,
// sumAxis, sumAll, sumSquares, findNonFinite.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "rowops.h"
#include "threadpool.h"
#include "validate.h"

namespace imp {
namespace {

void same_len(const Args& a, const char* name, const F32& x, const char* ref, const F32& r) {
  if (x.n != r.n)
    a.range(std::string(name) + " has " + std::to_string(x.n) + " elements but must have the same length as " + ref +
            " (" + std::to_string(r.n) + ")");
}

// Up to 8 dims after dropping size-1 dims and merging contiguous neighbours.
struct Iter {
  int nd = 0;
  int64_t shape[8];
  int64_t st[3][8];  // strides for up to 3 operands
};

Iter coalesce(const I32& shape, const int64_t (*strides)[8], int nops) {
  Iter it;
  for (int64_t d = 0; d < shape.n; ++d) {
    if (shape.p[d] == 1) continue;
    int k = it.nd;
    if (k > 0) {
      bool merge = true;
      for (int o = 0; o < nops; ++o)
        if (it.st[o][k - 1] != strides[o][d] * shape.p[d]) merge = false;
      if (merge) {
        it.shape[k - 1] *= shape.p[d];
        for (int o = 0; o < nops; ++o) it.st[o][k - 1] = strides[o][d];
        continue;
      }
    }
    it.shape[k] = shape.p[d];
    for (int o = 0; o < nops; ++o) it.st[o][k] = strides[o][d];
    it.nd = k + 1;
  }
  if (it.nd == 0) {
    it.nd = 1;
    it.shape[0] = 1;
    for (int o = 0; o < nops; ++o) it.st[o][0] = 0;
  }
  return it;
}

// Offsets of the outer index `row` (all dims but the last) for each operand.
inline void outer_offsets(const Iter& it, int64_t row, int nops, int64_t* off) {
  for (int o = 0; o < nops; ++o) off[o] = 0;
  for (int d = it.nd - 2; d >= 0; --d) {
    int64_t i = row % it.shape[d];
    row /= it.shape[d];
    for (int o = 0; o < nops; ++o) off[o] += i * it.st[o][d];
  }
}

void check_strides(const Args& a, const I32& shape, const I32& strides, const char* name) {
  if (strides.n != shape.n)
    a.range(std::string(name) + " has " + std::to_string(strides.n) + " entries but shape has " + std::to_string(shape.n) +
            " dimensions");
}

// Checks base + idx·strides stays inside [0, n) for every idx of shape (numel > 0).
void check_span(const Args& a, const I32& shape, const I32& strides, int64_t base, int64_t n, const char* name,
                const char* sname) {
  int64_t lo, hi;
  stride_extent(shape, strides, &lo, &hi);
  if (base + lo < 0)
    a.range(std::string(name) + ": offset " + std::to_string(base) + " with " + sname + " reaches index " +
            std::to_string(base + lo) + " (< 0)");
  a.need(name, n, base + hi + 1, std::string("offset ") + std::to_string(base) + " with " + sname + " over the shape");
}

// True when the strided positions over `shape` are all distinct.
bool injective(const Iter& it, int o) {
  std::vector<std::pair<int64_t, int64_t>> dims;
  for (int d = 0; d < it.nd; ++d) {
    if (it.shape[d] <= 1) continue;
    int64_t s = it.st[o][d] < 0 ? -it.st[o][d] : it.st[o][d];
    if (s == 0) return false;
    dims.push_back({s, it.shape[d]});
  }
  std::sort(dims.begin(), dims.end());
  int64_t reach = 0;
  for (auto& [s, n] : dims) {
    if (s <= reach) return false;
    reach += s * (n - 1);
  }
  return true;
}

}  // namespace

Napi::Value Fill(const Napi::CallbackInfo& info) {
  Args a{info, "fill"};
  a.count(2);
  F32 out = a.f32(0, "out");
  const float v = float(a.number(1, "value"));
  parallel_for(out.n, 4 * kElemGrain, [&](int64_t b, int64_t e) { std::fill(out.p + b, out.p + e, v); });
  return info.Env().Undefined();
}

Napi::Value ScaleInto(const Napi::CallbackInfo& info) {
  Args a{info, "scaleInto"};
  a.count(4);
  F32 x = a.f32(0, "x");
  const float alpha = float(a.number(1, "alpha"));
  F32 out = a.f32(2, "out");
  const bool acc = a.boolean(3, "accumulate");
  same_len(a, "out", out, "x", x);
  parallel_for(x.n, kElemGrain, [&](int64_t b, int64_t e) {
    const float* xp = x.p;
    float* op = out.p;
    if (acc) {
      for (int64_t i = b; i < e; ++i) op[i] += alpha * xp[i];
    } else {
      for (int64_t i = b; i < e; ++i) op[i] = alpha * xp[i];
    }
  });
  return info.Env().Undefined();
}

Napi::Value BroadcastBinary(const Napi::CallbackInfo& info) {
  Args a{info, "broadcastBinary"};
  a.count(7);
  const int64_t op = a.enumeration(0, "op", 0, 1);
  F32 A = a.f32(1, "a");
  I32 as = a.i32(2, "aStrides");
  F32 B = a.f32(3, "b");
  I32 bs = a.i32(4, "bStrides");
  F32 out = a.f32(5, "out");
  I32 shape = a.i32(6, "shape");
  const int64_t n = shape_numel(a, shape, "shape");
  check_strides(a, shape, as, "aStrides");
  check_strides(a, shape, bs, "bStrides");
  a.need("out", out.n, n, "shape (contiguous)");
  if (n == 0) return info.Env().Undefined();
  check_span(a, shape, as, 0, A.n, "a", "aStrides");
  check_span(a, shape, bs, 0, B.n, "b", "bStrides");
  int64_t strides[3][8];
  int64_t cs = 1;
  for (int64_t d = shape.n - 1; d >= 0; --d) {
    strides[0][d] = cs;
    cs *= shape.p[d];
    strides[1][d] = as.p[d];
    strides[2][d] = bs.p[d];
  }
  Iter it = coalesce(shape, strides, 3);
  const int64_t inner = it.shape[it.nd - 1];
  const int64_t rows = n / inner;
  const int64_t sa = it.st[1][it.nd - 1], sb = it.st[2][it.nd - 1];
  const bool mul = op == 1;
  parallel_for(rows, std::max<int64_t>(1, kElemGrain / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t off[3];
      outer_offsets(it, r, 3, off);
      float* o = out.p + r * inner;
      const float* pa = A.p + off[1];
      const float* pb = B.p + off[2];
      if (sa == 1 && sb == 1) {
        if (mul) for (int64_t i = 0; i < inner; ++i) o[i] = pa[i] * pb[i];
        else for (int64_t i = 0; i < inner; ++i) o[i] = pa[i] + pb[i];
      } else if (sa == 1 && sb == 0) {
        const float bv = pb[0];
        if (mul) for (int64_t i = 0; i < inner; ++i) o[i] = pa[i] * bv;
        else for (int64_t i = 0; i < inner; ++i) o[i] = pa[i] + bv;
      } else if (sa == 0 && sb == 1) {
        const float av = pa[0];
        if (mul) for (int64_t i = 0; i < inner; ++i) o[i] = av * pb[i];
        else for (int64_t i = 0; i < inner; ++i) o[i] = av + pb[i];
      } else {
        if (mul) for (int64_t i = 0; i < inner; ++i) o[i] = pa[i * sa] * pb[i * sb];
        else for (int64_t i = 0; i < inner; ++i) o[i] = pa[i * sa] + pb[i * sb];
      }
    }
  });
  return info.Env().Undefined();
}

Napi::Value CopyStrided(const Napi::CallbackInfo& info) {
  Args a{info, "copyStrided"};
  a.count(8);
  F32 src = a.f32(0, "src");
  const int64_t so = a.size(1, "srcOffset");
  I32 ss = a.i32(2, "srcStrides");
  F32 dst = a.f32(3, "dst");
  const int64_t dof = a.size(4, "dstOffset");
  I32 ds = a.i32(5, "dstStrides");
  I32 shape = a.i32(6, "shape");
  const bool acc = a.boolean(7, "accumulate");
  const int64_t n = shape_numel(a, shape, "shape");
  check_strides(a, shape, ss, "srcStrides");
  check_strides(a, shape, ds, "dstStrides");
  if (n == 0) return info.Env().Undefined();
  check_span(a, shape, ss, so, src.n, "src", "srcStrides");
  check_span(a, shape, ds, dof, dst.n, "dst", "dstStrides");
  int64_t strides[3][8];
  for (int64_t d = 0; d < shape.n; ++d) {
    strides[0][d] = ds.p[d];
    strides[1][d] = ss.p[d];
  }
  Iter it = coalesce(shape, strides, 2);
  const int64_t inner = it.shape[it.nd - 1];
  const int64_t rows = n / inner;
  const int64_t sd = it.st[0][it.nd - 1], sS = it.st[1][it.nd - 1];
  // Overlapping src/dst views of one buffer, or repeated dst positions: run serially in
  // index order (defined, deterministic); otherwise split rows across threads.
  const bool alias = src.p < dst.p + dst.n && dst.p < src.p + src.n;
  const bool par = !alias && injective(it, 0);
  auto body = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t off[2];
      outer_offsets(it, r, 2, off);
      float* d = dst.p + dof + off[0];
      const float* s = src.p + so + off[1];
      if (sd == 1 && sS == 1 && !alias) {
        if (acc) for (int64_t i = 0; i < inner; ++i) d[i] += s[i];
        else std::memcpy(d, s, sizeof(float) * inner);
      } else if (sd == 0 && acc) {
        float t = d[0];
        for (int64_t i = 0; i < inner; ++i) t += s[i * sS];
        d[0] = t;
      } else {
        if (acc) for (int64_t i = 0; i < inner; ++i) d[i * sd] += s[i * sS];
        else for (int64_t i = 0; i < inner; ++i) d[i * sd] = s[i * sS];
      }
    }
  };
  if (par) parallel_for(rows, std::max<int64_t>(1, kElemGrain / inner), body);
  else body(0, rows);
  return info.Env().Undefined();
}

Napi::Value SumAxis(const Napi::CallbackInfo& info) {
  Args a{info, "sumAxis"};
  a.count(6);
  F32 x = a.f32(0, "x");
  const int64_t outer = a.size(1, "outer"), axis = a.size(2, "axis"), inner = a.size(3, "inner");
  F32 out = a.f32(4, "out");
  const bool acc = a.boolean(5, "accumulate");
  const int64_t on = checked_mul(a, outer, inner);
  const int64_t xn = checked_mul(a, on, axis);
  a.need("x", x.n, xn, "outer=" + std::to_string(outer) + ", axis=" + std::to_string(axis) + ", inner=" + std::to_string(inner));
  a.need("out", out.n, on, "outer=" + std::to_string(outer) + ", inner=" + std::to_string(inner));
  if (on == 0) return info.Env().Undefined();
  if (inner == 1) {
    parallel_for(outer, std::max<int64_t>(1, kElemGrain / std::max<int64_t>(axis, 1)), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        float s = row_sum(x.p + o * axis, axis);
        out.p[o] = acc ? out.p[o] + s : s;
      }
    });
    return info.Env().Undefined();
  }
  // Work items: (outer, chunk of 256 inner columns); each output element summed in axis order.
  const int64_t CH = 256;
  const int64_t chunks = (inner + CH - 1) / CH;
  const int64_t items = outer * chunks;
  parallel_for(items, std::max<int64_t>(1, kElemGrain / std::max<int64_t>(1, std::min(inner, CH) * std::max<int64_t>(axis, 1))),
               [&](int64_t b, int64_t e) {
                 float tmp[256];
                 for (int64_t it = b; it < e; ++it) {
                   const int64_t o = it / chunks, c0 = (it % chunks) * CH, c1 = std::min(inner, c0 + CH), w = c1 - c0;
                   for (int64_t j = 0; j < w; ++j) tmp[j] = 0.0f;
                   const float* xp = x.p + o * axis * inner + c0;
                   for (int64_t k = 0; k < axis; ++k, xp += inner)
                     for (int64_t j = 0; j < w; ++j) tmp[j] += xp[j];
                   float* op = out.p + o * inner + c0;
                   if (acc) for (int64_t j = 0; j < w; ++j) op[j] += tmp[j];
                   else for (int64_t j = 0; j < w; ++j) op[j] = tmp[j];
                 }
               });
  return info.Env().Undefined();
}

namespace {
// Sums f(x[i]) in double over fixed 4096-element blocks (thread-count independent).
template <bool SQ>
double sum_double(const float* x, int64_t n) {
  const int64_t BS = 4096;
  const int64_t nb = (n + BS - 1) / BS;
  if (nb == 0) return 0.0;
  std::vector<double> part(size_t(nb), 0.0);
  parallel_for(nb, 16, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t s = blk * BS, e = std::min(n, s + BS);
      double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t i = s;
      for (; i + 8 <= e; i += 8)
        for (int l = 0; l < 8; ++l) {
          double v = x[i + l];
          acc[l] += SQ ? v * v : v;
        }
      for (int l = 0; i < e; ++i, ++l) {
        double v = x[i];
        acc[l] += SQ ? v * v : v;
      }
      part[size_t(blk)] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
  });
  double t = 0.0;
  for (double v : part) t += v;
  return t;
}
}  // namespace

Napi::Value SumAll(const Napi::CallbackInfo& info) {
  Args a{info, "sumAll"};
  a.count(1);
  F32 x = a.f32(0, "x");
  return Napi::Number::New(info.Env(), sum_double<false>(x.p, x.n));
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a{info, "sumSquares"};
  a.count(1);
  F32 x = a.f32(0, "x");
  return Napi::Number::New(info.Env(), sum_double<true>(x.p, x.n));
}

Napi::Value FindNonFinite(const Napi::CallbackInfo& info) {
  Args a{info, "findNonFinite"};
  a.count(1);
  F32 x = a.f32(0, "x");
  const int T = parallel_plan(x.n, 4 * kElemGrain);
  std::vector<int64_t> found(size_t(std::max(T, 1)), -1);
  parallel_for_id(x.n, T, [&](int part, int64_t b, int64_t e) {
    const uint32_t* u = reinterpret_cast<const uint32_t*>(x.p);
    for (int64_t s = b; s < e; s += 1024) {
      const int64_t t = std::min(e, s + 1024);
      uint32_t any = 0;
      for (int64_t i = s; i < t; ++i) any |= uint32_t((u[i] & 0x7f800000u) == 0x7f800000u);
      if (any) {
        for (int64_t i = s; i < t; ++i)
          if ((u[i] & 0x7f800000u) == 0x7f800000u) {
            found[size_t(part)] = i;
            return;
          }
      }
    }
  });
  for (int64_t f : found)
    if (f >= 0) return Napi::Number::New(info.Env(), double(f));
  return Napi::Number::New(info.Env(), -1);
}

}  // namespace imp
