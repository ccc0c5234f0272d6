// Cross-entropy and KL-divergence losses over [rows, vocab] logits, with backward passes.
#include <cmath>

#include "kernels.h"
#include "rowops.h"
#include "threadpool.h"
#include "validate.h"

namespace imp {
namespace {

std::string rv(int64_t rows, int64_t vocab) { return "rows=" + std::to_string(rows) + ", vocab=" + std::to_string(vocab); }
int64_t row_grain(int64_t cols) { return std::max<int64_t>(1, kElemGrain / 4 / std::max<int64_t>(1, cols)); }

void check_targets(const Args& a, const I32& t, int64_t rows, int64_t vocab, int64_t ignore) {
  a.need("targets", t.n, rows, "rows=" + std::to_string(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t v = t.p[r];
    if (v == ignore) continue;
    if (v < 0 || v >= vocab)
      a.range("targets[" + std::to_string(r) + "] = " + std::to_string(v) + " is outside [0, vocab=" + std::to_string(vocab) +
              ") and is not ignoreIndex (" + std::to_string(ignore) + ")");
  }
}

inline float logsumexp(const float* x, int64_t n) {
  if (n == 0) return -__builtin_inff();
  const float m = row_max(x, n);
  if (std::isinf(m)) return m;  // all -inf (or +inf present)
  return m + std::log(row_exp_sum(x, m, nullptr, n));
}

}  // namespace

Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Args a{info, "crossEntropy"};
  a.count(8);
  F32 logits = a.f32(0, "logits");
  I32 t = a.i32(1, "targets");
  F32 w = a.f32_or_null(2, "weights");
  const int64_t rows = a.size(3, "rows"), vocab = a.size(4, "vocab");
  const int64_t ignore = a.integer(5, "ignoreIndex");
  F32 losses = a.f32(6, "losses"), lse = a.f32(7, "logSumExp");
  a.need("logits", logits.n, checked_mul(a, rows, vocab), rv(rows, vocab));
  if (w.present) a.need("weights", w.n, rows, "rows=" + std::to_string(rows));
  a.need("losses", losses.n, rows, "rows=" + std::to_string(rows));
  a.need("logSumExp", lse.n, rows, "rows=" + std::to_string(rows));
  check_targets(a, t, rows, vocab, ignore);
  parallel_for(rows, row_grain(vocab), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = logits.p + r * vocab;
      const float l = logsumexp(x, vocab);
      lse.p[r] = l;
      const int64_t tr = t.p[r];
      if (tr == ignore) {
        losses.p[r] = 0.0f;
      } else {
        const float wr = w.present ? w.p[r] : 1.0f;
        losses.p[r] = wr * (l - x[tr]);
      }
    }
  });
  return info.Env().Undefined();
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args a{info, "crossEntropyBackward"};
  a.count(10);
  F32 logits = a.f32(0, "logits");
  I32 t = a.i32(1, "targets");
  F32 w = a.f32_or_null(2, "weights"), lse = a.f32(3, "logSumExp"), scale = a.f32(4, "rowScale");
  F32 gl = a.f32(5, "gradLogits");
  const int64_t rows = a.size(6, "rows"), vocab = a.size(7, "vocab");
  const int64_t ignore = a.integer(8, "ignoreIndex");
  const bool acc = a.boolean(9, "accumulate");
  const int64_t n = checked_mul(a, rows, vocab);
  a.need("logits", logits.n, n, rv(rows, vocab));
  a.need("gradLogits", gl.n, n, rv(rows, vocab));
  if (w.present) a.need("weights", w.n, rows, "rows=" + std::to_string(rows));
  a.need("logSumExp", lse.n, rows, "rows=" + std::to_string(rows));
  a.need("rowScale", scale.n, rows, "rows=" + std::to_string(rows));
  check_targets(a, t, rows, vocab, ignore);
  parallel_for(rows, row_grain(vocab), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = logits.p + r * vocab;
      float* g = gl.p + r * vocab;
      const int64_t tr = t.p[r];
      if (tr == ignore) {
        if (!acc) std::fill(g, g + vocab, 0.0f);
        continue;
      }
      const float k = scale.p[r] * (w.present ? w.p[r] : 1.0f);
      const vf kv = vset(k), l = vset(lse.p[r]);
      const float old_t = acc ? g[tr] : 0.0f;
      float pt = 0.0f;
      vec_loop(0, vocab, [&](int64_t i, int c) { st_acc(g + i, kv * vexp(ld(x + i, c) - l), c, acc); });
      // the target entry: k * (p_t - 1), computed once so it is exact w.r.t. p_t
      pt = sexp(x[tr] - lse.p[r]);
      g[tr] = old_t + k * (pt - 1.0f);
    }
  });
  return info.Env().Undefined();
}

namespace {
// KL(P||Q) for one row; writes nothing. P = softmax(p), Q = softmax(q).
inline float kl_row(const float* p, const float* q, int64_t n, float lp, float lq) {
  vf acc = vzero();
  const vf lpv = vset(lp), lqv = vset(lq);
  vec_loop(0, n, [&](int64_t i, int c) {
    vf logP = ld(p + i, c) - lpv, logQ = ld(q + i, c) - lqv;
    vf P = vexp(logP);
    vf term = P * (logP - logQ);
    term = vselect(vgt(P, vzero()), term, vzero());
    if (c < VW) {
      float buf[8];
      vstore(buf, term);
      for (int l = c; l < 8; ++l) buf[l] = 0.0f;
      term = vload(buf);
    }
    acc = acc + term;
  });
  return hsum(acc);
}
}  // namespace

Napi::Value KlDivergence(const Napi::CallbackInfo& info) {
  Args a{info, "klDivergence"};
  a.count(5);
  F32 p = a.f32(0, "p"), q = a.f32(1, "q");
  const int64_t rows = a.size(2, "rows"), vocab = a.size(3, "vocab");
  F32 out = a.f32(4, "out");
  const int64_t n = checked_mul(a, rows, vocab);
  a.need("p", p.n, n, rv(rows, vocab));
  a.need("q", q.n, n, rv(rows, vocab));
  a.need("out", out.n, rows, "rows=" + std::to_string(rows));
  parallel_for(rows, row_grain(2 * vocab), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* pr = p.p + r * vocab;
      const float* qr = q.p + r * vocab;
      out.p[r] = vocab == 0 ? 0.0f : kl_row(pr, qr, vocab, logsumexp(pr, vocab), logsumexp(qr, vocab));
    }
  });
  return info.Env().Undefined();
}

Napi::Value KlDivergenceBackward(const Napi::CallbackInfo& info) {
  Args a{info, "klDivergenceBackward"};
  a.count(8);
  F32 p = a.f32(0, "p"), q = a.f32(1, "q"), scale = a.f32(2, "rowScale");
  F32 gp = a.f32_or_null(3, "gradP"), gq = a.f32_or_null(4, "gradQ");
  const int64_t rows = a.size(5, "rows"), vocab = a.size(6, "vocab");
  const bool acc = a.boolean(7, "accumulate");
  const int64_t n = checked_mul(a, rows, vocab);
  a.need("p", p.n, n, rv(rows, vocab));
  a.need("q", q.n, n, rv(rows, vocab));
  a.need("rowScale", scale.n, rows, "rows=" + std::to_string(rows));
  if (gp.present) a.need("gradP", gp.n, n, rv(rows, vocab));
  if (gq.present) a.need("gradQ", gq.n, n, rv(rows, vocab));
  if ((!gp.present && !gq.present) || vocab == 0) return info.Env().Undefined();
  parallel_for(rows, row_grain(2 * vocab), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* pr = p.p + r * vocab;
      const float* qr = q.p + r * vocab;
      const float lp = logsumexp(pr, vocab), lq = logsumexp(qr, vocab);
      const vf lpv = vset(lp), lqv = vset(lq), s = vset(scale.p[r]);
      if (gp.present) {
        const vf kl = vset(kl_row(pr, qr, vocab, lp, lq));
        float* g = gp.p + r * vocab;
        vec_loop(0, vocab, [&](int64_t i, int c) {
          vf logP = ld(pr + i, c) - lpv, logQ = ld(qr + i, c) - lqv;
          vf P = vexp(logP);
          vf d = s * P * ((logP - logQ) - kl);
          d = vselect(vgt(P, vzero()), d, vzero());
          st_acc(g + i, d, c, acc);
        });
      }
      if (gq.present) {
        float* g = gq.p + r * vocab;
        vec_loop(0, vocab, [&](int64_t i, int c) {
          vf P = vexp(ld(pr + i, c) - lpv), Q = vexp(ld(qr + i, c) - lqv);
          st_acc(g + i, s * (Q - P), c, acc);
        });
      }
    }
  });
  return info.Env().Undefined();
}

}  // namespace imp
