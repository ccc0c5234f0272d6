// Fused multi-head attention (GQA, causal with a KV offset, sliding window, soft-capping)
// forward and backward. Forward runs in parallel over (batch, query head); backward over
// (batch, kv head) groups so GQA gradient accumulation into dK/dV has no races. Inside,
// query rows are processed in blocks of QB so causal/window masks skip dead key ranges,
// and the products run as serial GEMMs on strided slices.
#include <algorithm>
#include <cmath>
#include <vector>

#include "gemm.h"
#include "kernels.h"
#include "rowops.h"
#include "threadpool.h"
#include "validate.h"

namespace imp {
namespace {

constexpr int64_t QB = 64;

struct Shape {
  int64_t B, Tq, Tk, Hq, Hkv, D, kvStride, window;
  float scale, softCap;
  bool causal;
  const int32_t* keyStart = nullptr;  // per batch row, or null
  int64_t off() const { return Tk - Tq; }
  // visible key range [lo, hi) for query row i of batch row b
  void range(int64_t b, int64_t i, int64_t* lo, int64_t* hi) const {
    const int64_t p = i + off();
    int64_t h = causal ? std::min(Tk, p + 1) : Tk;
    int64_t l = window > 0 ? std::max<int64_t>(0, p - window + 1) : 0;
    if (keyStart != nullptr) l = std::max<int64_t>(l, keyStart[b]);
    if (h < 0) h = 0;
    *lo = l;
    *hi = h;
  }
  // union of visible keys for rows [i0, i1)
  void block_range(int64_t b, int64_t i0, int64_t i1, int64_t* lo, int64_t* hi) const {
    int64_t l0, h0, l1, h1;
    range(b, i0, &l0, &h0);
    range(b, i1 - 1, &l1, &h1);
    *lo = std::min(l0, l1);
    *hi = std::max(h0, h1);
  }
};

int64_t get_int(const Args& a, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) a.type(std::string("shape.") + key + " must be a non-negative integer, got " + describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > 2147483647.0)
    a.range(std::string("shape.") + key + " must be a non-negative integer, got " + num_str(d));
  return int64_t(d);
}

Shape read_shape(const Args& a, size_t idx) {
  Napi::Value v = a.info[idx];
  if (!v.IsObject() || v.IsTypedArray() || v.IsArray()) a.type("shape must be an AttentionShape object, got " + describe(v));
  Napi::Object o = v.As<Napi::Object>();
  Shape s;
  s.B = get_int(a, o, "batch");
  s.Tq = get_int(a, o, "queryLength");
  s.Tk = get_int(a, o, "keyLength");
  s.Hq = get_int(a, o, "queryHeads");
  s.Hkv = get_int(a, o, "keyValueHeads");
  s.D = get_int(a, o, "headDim");
  s.kvStride = get_int(a, o, "keyValueBatchStride");
  s.window = get_int(a, o, "window");
  Napi::Value sc = o.Get("scale"), cap = o.Get("softCap"), causal = o.Get("causal");
  if (!sc.IsNumber()) a.type("shape.scale must be a number, got " + describe(sc));
  if (!cap.IsNumber()) a.type("shape.softCap must be a number, got " + describe(cap));
  if (!causal.IsBoolean()) a.type("shape.causal must be a boolean, got " + describe(causal));
  s.scale = float(sc.As<Napi::Number>().DoubleValue());
  s.softCap = float(cap.As<Napi::Number>().DoubleValue());
  s.causal = causal.As<Napi::Boolean>().Value();
  Napi::Value ks = o.Get("keyStart");
  if (!ks.IsUndefined() && !ks.IsNull()) {
    if (!ks.IsTypedArray() || ks.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      a.type("shape.keyStart must be an Int32Array, null or absent, got " + describe(ks));
    Napi::Int32Array starts = ks.As<Napi::Int32Array>();
    if (int64_t(starts.ElementLength()) < s.B)
      a.range("shape.keyStart has " + std::to_string(starts.ElementLength()) + " entries, needs one per batch row (" +
              std::to_string(s.B) + ")");
    for (int64_t b = 0; b < s.B; ++b)
      if (starts[b] < 0 || starts[b] > s.Tk)
        a.range("shape.keyStart[" + std::to_string(b) + "] = " + std::to_string(starts[b]) + " is outside [0, keyLength=" +
                std::to_string(s.Tk) + "]");
    s.keyStart = starts.Data();
  }
  if (s.Hkv == 0 && s.Hq > 0) a.range("shape.keyValueHeads must be >= 1, got 0");
  if (s.Hkv > 0 && s.Hq % s.Hkv != 0)
    a.range("shape.queryHeads (" + std::to_string(s.Hq) + ") must be a multiple of shape.keyValueHeads (" +
            std::to_string(s.Hkv) + ")");
  // keyValueBatchStride smaller than a dense row is allowed (rows may overlap; k/v are only read).
  return s;
}

std::string qdesc(const Shape& s) {
  return "batch=" + std::to_string(s.B) + ", queryLength=" + std::to_string(s.Tq) + ", queryHeads=" + std::to_string(s.Hq) +
         ", headDim=" + std::to_string(s.D);
}
int64_t kv_need(const Args& a, const Shape& s) {
  const int64_t row = s.Tk * s.Hkv * s.D;
  if (s.B == 0 || row == 0) return 0;
  return checked_mul(a, s.B - 1, s.kvStride) + row;
}
std::string kvdesc(const Shape& s) {
  return "batch=" + std::to_string(s.B) + ", keyLength=" + std::to_string(s.Tk) + ", keyValueHeads=" +
         std::to_string(s.Hkv) + ", headDim=" + std::to_string(s.D) + ", keyValueBatchStride=" + std::to_string(s.kvStride);
}

// Softcap + masked softmax of one score row in place (full row of length Tk written).
inline void softmax_row(float* srow, int64_t Tk, int64_t lo, int64_t hi, float cap) {
  for (int64_t j = 0; j < lo; ++j) srow[j] = 0.0f;
  for (int64_t j = std::max(hi, lo); j < Tk; ++j) srow[j] = 0.0f;
  if (lo >= hi) return;
  float* s = srow + lo;
  const int64_t n = hi - lo;
  if (cap != 0.0f) {
    const vf cv = vset(cap), ic = vset(1.0f / cap);
    vec_loop(0, n, [&](int64_t i, int c) { st(s + i, cv * vtanh(ld(s + i, c) * ic), c); });
  }
  const float m = row_max(s, n);
  const float sum = row_exp_sum(s, m, s, n);
  const vf inv = vset(1.0f / sum);
  vec_loop(0, n, [&](int64_t i, int c) { st(s + i, ld(s + i, c) * inv, c); });
}

// Per-calling-thread scratch arena (never allocated on pool workers).
std::vector<float>& arena() {
  static thread_local std::vector<float> a;
  return a;
}

}  // namespace

Napi::Value Attention(const Napi::CallbackInfo& info) {
  Args a{info, "attention"};
  a.count(6);
  F32 q = a.f32(0, "q"), k = a.f32(1, "k"), v = a.f32(2, "v"), out = a.f32(3, "out");
  F32 probs = a.f32_or_null(4, "probs");
  const Shape s = read_shape(a, 5);
  const int64_t qn = checked_mul(a, checked_mul(a, checked_mul(a, s.B, s.Tq), s.Hq), s.D);
  a.need("q", q.n, qn, qdesc(s));
  a.need("out", out.n, qn, qdesc(s));
  const int64_t kvn = kv_need(a, s);
  a.need("k", k.n, kvn, kvdesc(s));
  a.need("v", v.n, kvn, kvdesc(s));
  if (probs.present)
    a.need("probs", probs.n, checked_mul(a, checked_mul(a, checked_mul(a, s.B, s.Hq), s.Tq), s.Tk),
           "batch=" + std::to_string(s.B) + ", queryHeads=" + std::to_string(s.Hq) + ", queryLength=" +
               std::to_string(s.Tq) + ", keyLength=" + std::to_string(s.Tk));
  const int64_t tasks = s.B * s.Hq;
  if (tasks == 0 || s.Tq == 0) return info.Env().Undefined();
  const int parts = parallel_plan(tasks, 1);
  const int64_t scratchPer = probs.present ? 0 : std::min(QB, s.Tq) * s.Tk;
  std::vector<float>& ar = arena();
  if (ar.size() < size_t(scratchPer * parts)) ar.resize(size_t(scratchPer * parts));
  float* scratch = ar.data();
  const int64_t R = s.Hq / s.Hkv, ldq = s.Hq * s.D, ldk = s.Hkv * s.D;
  parallel_for_id(tasks, parts, [&](int part, int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / s.Hq, hq = t % s.Hq, g = hq / R;
      const float* kb = k.p + b * s.kvStride + g * s.D;
      const float* vb = v.p + b * s.kvStride + g * s.D;
      for (int64_t i0 = 0; i0 < s.Tq; i0 += QB) {
        const int64_t i1 = std::min(s.Tq, i0 + QB), rows = i1 - i0;
        float* S = probs.present ? probs.p + ((b * s.Hq + hq) * s.Tq + i0) * s.Tk : scratch + part * scratchPer;
        const float* qb = q.p + ((b * s.Tq + i0) * s.Hq + hq) * s.D;
        float* ob = out.p + ((b * s.Tq + i0) * s.Hq + hq) * s.D;
        int64_t kmin, kmax;
        s.block_range(b, i0, i1, &kmin, &kmax);
        if (kmin >= kmax) {
          for (int64_t r = 0; r < rows; ++r) {
            std::fill(S + r * s.Tk, S + (r + 1) * s.Tk, 0.0f);
            std::fill(ob + r * ldq, ob + r * ldq + s.D, 0.0f);
          }
          continue;
        }
        const int64_t nk = kmax - kmin;
        gemm_serial(false, true, rows, nk, s.D, s.scale, qb, ldq, kb + kmin * ldk, ldk, 0.0f, S + kmin, s.Tk);
        for (int64_t r = 0; r < rows; ++r) {
          int64_t lo, hi;
          s.range(b, i0 + r, &lo, &hi);
          softmax_row(S + r * s.Tk, s.Tk, lo, hi, s.softCap);
        }
        gemm_serial(false, false, rows, s.D, nk, 1.0f, S + kmin, s.Tk, vb + kmin * ldk, ldk, 0.0f, ob, ldq);
      }
    }
  });
  return info.Env().Undefined();
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Args a{info, "attentionBackward"};
  a.count(10);
  F32 q = a.f32(0, "q"), k = a.f32(1, "k"), v = a.f32(2, "v"), probs = a.f32(3, "probs"), go = a.f32(4, "gradOut");
  F32 gq = a.f32(5, "gradQ"), gk = a.f32(6, "gradK"), gv = a.f32(7, "gradV");
  const Shape s = read_shape(a, 8);
  const bool acc = a.boolean(9, "accumulate");
  const int64_t qn = checked_mul(a, checked_mul(a, checked_mul(a, s.B, s.Tq), s.Hq), s.D);
  a.need("q", q.n, qn, qdesc(s));
  a.need("gradOut", go.n, qn, qdesc(s));
  a.need("gradQ", gq.n, qn, qdesc(s));
  const int64_t kvn = kv_need(a, s);
  a.need("k", k.n, kvn, kvdesc(s));
  a.need("v", v.n, kvn, kvdesc(s));
  const int64_t dense = checked_mul(a, checked_mul(a, checked_mul(a, s.B, s.Tk), s.Hkv), s.D);
  const std::string dd = "dense batch=" + std::to_string(s.B) + ", keyLength=" + std::to_string(s.Tk) +
                         ", keyValueHeads=" + std::to_string(s.Hkv) + ", headDim=" + std::to_string(s.D);
  a.need("gradK", gk.n, dense, dd);
  a.need("gradV", gv.n, dense, dd);
  a.need("probs", probs.n, checked_mul(a, checked_mul(a, checked_mul(a, s.B, s.Hq), s.Tq), s.Tk),
         "batch=" + std::to_string(s.B) + ", queryHeads=" + std::to_string(s.Hq) + ", queryLength=" +
             std::to_string(s.Tq) + ", keyLength=" + std::to_string(s.Tk));
  const int64_t groups = s.B * s.Hkv;
  if (groups == 0) return info.Env().Undefined();
  const int parts = parallel_plan(groups, 1);
  const bool cap = s.softCap != 0.0f;
  const int64_t blk = std::min(QB, std::max<int64_t>(s.Tq, 1)) * s.Tk;
  const int64_t scratchPer = blk * (cap ? 2 : 1);
  std::vector<float>& ar = arena();
  if (ar.size() < size_t(scratchPer * parts)) ar.resize(size_t(scratchPer * parts));
  float* scratch = ar.data();
  const int64_t R = s.Hq / s.Hkv, ldq = s.Hq * s.D, ldk = s.Hkv * s.D;
  parallel_for_id(groups, parts, [&](int part, int64_t g0, int64_t g1) {
    float* dP = scratch + part * scratchPer;
    float* Sraw = cap ? dP + blk : nullptr;
    for (int64_t gi = g0; gi < g1; ++gi) {
      const int64_t b = gi / s.Hkv, g = gi % s.Hkv;
      const float* kb = k.p + b * s.kvStride + g * s.D;
      const float* vb = v.p + b * s.kvStride + g * s.D;
      float* gkb = gk.p + b * s.Tk * ldk + g * s.D;
      float* gvb = gv.p + b * s.Tk * ldk + g * s.D;
      if (!acc) {
        for (int64_t j = 0; j < s.Tk; ++j) {
          std::fill(gkb + j * ldk, gkb + j * ldk + s.D, 0.0f);
          std::fill(gvb + j * ldk, gvb + j * ldk + s.D, 0.0f);
        }
      }
      for (int64_t hq = g * R; hq < (g + 1) * R; ++hq) {
        for (int64_t i0 = 0; i0 < s.Tq; i0 += QB) {
          const int64_t i1 = std::min(s.Tq, i0 + QB), rows = i1 - i0;
          const float* P = probs.p + ((b * s.Hq + hq) * s.Tq + i0) * s.Tk;
          const float* qb = q.p + ((b * s.Tq + i0) * s.Hq + hq) * s.D;
          const float* gob = go.p + ((b * s.Tq + i0) * s.Hq + hq) * s.D;
          float* gqb = gq.p + ((b * s.Tq + i0) * s.Hq + hq) * s.D;
          int64_t kmin, kmax;
          s.block_range(b, i0, i1, &kmin, &kmax);
          if (kmin >= kmax) {
            if (!acc)
              for (int64_t r = 0; r < rows; ++r) std::fill(gqb + r * ldq, gqb + r * ldq + s.D, 0.0f);
            continue;
          }
          const int64_t nk = kmax - kmin;
          // dP = dO V^T over the live key range
          gemm_serial(false, true, rows, nk, s.D, 1.0f, gob, ldq, vb + kmin * ldk, ldk, 0.0f, dP + kmin, s.Tk);
          if (cap) gemm_serial(false, true, rows, nk, s.D, s.scale, qb, ldq, kb + kmin * ldk, ldk, 0.0f, Sraw + kmin, s.Tk);
          for (int64_t r = 0; r < rows; ++r) {
            int64_t lo, hi;
            s.range(b, i0 + r, &lo, &hi);
            float* d = dP + r * s.Tk;
            const float* p = P + r * s.Tk;
            for (int64_t j = kmin; j < std::min(lo, kmax); ++j) d[j] = 0.0f;
            for (int64_t j = std::max(hi, kmin); j < kmax; ++j) d[j] = 0.0f;
            if (lo >= hi) continue;
            const int64_t n = hi - lo;
            const float dot = row_dot(p + lo, d + lo, n);
            const vf dv = vset(dot);
            if (cap) {
              const float* sr = Sraw + r * s.Tk + lo;
              const vf ic = vset(1.0f / s.softCap);
              vec_loop(0, n, [&](int64_t i, int c) {
                vf t = vtanh(ld(sr + i, c) * ic);
                vf ds = ld(p + lo + i, c) * (ld(d + lo + i, c) - dv);
                st(d + lo + i, ds * (vset(1.0f) - t * t), c);
              });
            } else {
              vec_loop(0, n, [&](int64_t i, int c) { st(d + lo + i, ld(p + lo + i, c) * (ld(d + lo + i, c) - dv), c); });
            }
          }
          // dQ (+)= scale * dS K ; dK += scale * dS^T Q ; dV += P^T dO
          gemm_serial(false, false, rows, s.D, nk, s.scale, dP + kmin, s.Tk, kb + kmin * ldk, ldk, acc ? 1.0f : 0.0f, gqb, ldq);
          gemm_serial(true, false, nk, s.D, rows, s.scale, dP + kmin, s.Tk, qb, ldq, 1.0f, gkb + kmin * ldk, ldk);
          gemm_serial(true, false, nk, s.D, rows, 1.0f, P + kmin, s.Tk, gob, ldq, 1.0f, gvb + kmin * ldk, ldk);
        }
      }
    }
  });
  return info.Env().Undefined();
}

}  // namespace imp
