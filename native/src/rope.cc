// Rotary position embedding (Hugging Face rotate_half layout), forward and inverse.
#include "kernels.h"
#include "rowops.h"
#include "threadpool.h"
#include "validate.h"

namespace imp {

Napi::Value Rope(const Napi::CallbackInfo& info) {
  Args a{info, "rope"};
  a.count(13);
  F32 x = a.f32(0, "x"), out = a.f32(1, "out"), cs = a.f32(2, "cos"), sn = a.f32(3, "sin");
  I32 pos = a.i32(4, "positions");
  const int64_t B = a.size(5, "batch"), S = a.size(6, "seq"), H = a.size(7, "heads"), D = a.size(8, "headDim");
  const int64_t R = a.size(9, "rotaryDim"), P = a.size(10, "maxPosition");
  const bool inverse = a.boolean(11, "inverse"), acc = a.boolean(12, "accumulate");
  if (R % 2 != 0) a.range("rotaryDim must be even, got " + std::to_string(R));
  if (R > D) a.range("rotaryDim (" + std::to_string(R) + ") must be <= headDim (" + std::to_string(D) + ")");
  const int64_t h = R / 2;
  const int64_t rowsBS = checked_mul(a, B, S);
  const int64_t n = checked_mul(a, checked_mul(a, rowsBS, H), D);
  const std::string shp = "batch=" + std::to_string(B) + ", seq=" + std::to_string(S) + ", heads=" + std::to_string(H) +
                          ", headDim=" + std::to_string(D);
  a.need("x", x.n, n, shp);
  a.need("out", out.n, n, shp);
  a.need("cos", cs.n, checked_mul(a, P, h), "maxPosition=" + std::to_string(P) + ", rotaryDim=" + std::to_string(R));
  a.need("sin", sn.n, checked_mul(a, P, h), "maxPosition=" + std::to_string(P) + ", rotaryDim=" + std::to_string(R));
  a.need("positions", pos.n, rowsBS, "batch=" + std::to_string(B) + ", seq=" + std::to_string(S));
  for (int64_t i = 0; i < rowsBS; ++i) {
    const int32_t p = pos.p[i];
    if (p < 0 || p >= P)
      a.range("positions[" + std::to_string(i) + "] = " + std::to_string(p) + " is outside [0, maxPosition=" +
              std::to_string(P) + ")");
  }
  const int64_t rowLen = H * D;
  parallel_for(rowsBS, std::max<int64_t>(1, kElemGrain / std::max<int64_t>(1, rowLen)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* c = cs.p + int64_t(pos.p[r]) * h;
      const float* s = sn.p + int64_t(pos.p[r]) * h;
      for (int64_t hh = 0; hh < H; ++hh) {
        const float* xi = x.p + (r * H + hh) * D;
        float* o = out.p + (r * H + hh) * D;
        vec_loop(0, h, [&](int64_t i, int cnt) {
          vf x1 = ld(xi + i, cnt), x2 = ld(xi + i + h, cnt), cv = ld(c + i, cnt), sv = ld(s + i, cnt);
          vf y1, y2;
          if (!inverse) {
            y1 = x1 * cv - x2 * sv;
            y2 = x2 * cv + x1 * sv;
          } else {
            y1 = x1 * cv + x2 * sv;
            y2 = x2 * cv - x1 * sv;
          }
          if (acc) {
            y1 = y1 + ld(o + i, cnt);
            y2 = y2 + ld(o + i + h, cnt);
          }
          st(o + i, y1, cnt);
          st(o + i + h, y2, cnt);
        });
        if (xi != o || acc) {
          for (int64_t j = R; j < D; ++j) o[j] = acc ? o[j] + xi[j] : xi[j];
        }
      }
    }
  });
  return info.Env().Undefined();
}

}  // namespace imp
