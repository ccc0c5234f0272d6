// Embedding lookup and its deterministic backward (parallel over the dim columns).
#include <algorithm>
#include <cstring>

#include "kernels.h"
#include "rowops.h"
#include "threadpool.h"
#include "validate.h"

namespace imp {
namespace {
void check_ids(const Args& a, const I32& ids, int64_t vocab) {
  for (int64_t i = 0; i < ids.n; ++i)
    if (ids.p[i] < 0 || ids.p[i] >= vocab)
      a.range("ids[" + std::to_string(i) + "] = " + std::to_string(ids.p[i]) + " is outside [0, vocab=" +
              std::to_string(vocab) + ")");
}
}  // namespace

Napi::Value Embedding(const Napi::CallbackInfo& info) {
  Args a{info, "embedding"};
  a.count(5);
  F32 table = a.f32(0, "table");
  const int64_t vocab = a.size(1, "vocab"), dim = a.size(2, "dim");
  I32 ids = a.i32(3, "ids");
  F32 out = a.f32(4, "out");
  a.need("table", table.n, checked_mul(a, vocab, dim), "vocab=" + std::to_string(vocab) + ", dim=" + std::to_string(dim));
  a.need("out", out.n, checked_mul(a, ids.n, dim), std::to_string(ids.n) + " ids, dim=" + std::to_string(dim));
  check_ids(a, ids, vocab);
  parallel_for(ids.n, std::max<int64_t>(1, kElemGrain / std::max<int64_t>(1, dim)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) std::memmove(out.p + i * dim, table.p + int64_t(ids.p[i]) * dim, sizeof(float) * dim);
  });
  return info.Env().Undefined();
}

Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Args a{info, "embeddingBackward"};
  a.count(5);
  F32 g = a.f32(0, "gradOut");
  I32 ids = a.i32(1, "ids");
  const int64_t vocab = a.size(2, "vocab"), dim = a.size(3, "dim");
  F32 gt = a.f32(4, "gradTable");
  a.need("gradOut", g.n, checked_mul(a, ids.n, dim), std::to_string(ids.n) + " ids, dim=" + std::to_string(dim));
  a.need("gradTable", gt.n, checked_mul(a, vocab, dim), "vocab=" + std::to_string(vocab) + ", dim=" + std::to_string(dim));
  check_ids(a, ids, vocab);
  if (dim == 0 || ids.n == 0) return info.Env().Undefined();
  // Column blocks (multiples of 16 floats) per thread; ids processed in order within each.
  const int64_t units = (dim + 15) / 16;
  parallel_for(units, std::max<int64_t>(1, kElemGrain / 16 / std::max<int64_t>(1, ids.n)), [&](int64_t u0, int64_t u1) {
    const int64_t c0 = u0 * 16, c1 = std::min(dim, u1 * 16);
    for (int64_t i = 0; i < ids.n; ++i) {
      const float* src = g.p + i * dim;
      float* dst = gt.p + int64_t(ids.p[i]) * dim;
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  });
  return info.Env().Undefined();
}

}  // namespace imp
