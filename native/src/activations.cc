// Activations: GELU (tanh / erf), SiLU and the gated (SwiGLU / GeGLU) variants, with
// backward passes. All vectorised with the shared expf/tanh/erfc approximations.
#include "kernels.h"
#include "rowops.h"
#include "threadpool.h"
#include "validate.h"

namespace imp {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluC = 0.044715f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;

inline vf gelu_tanh(vf x) {
  vf u = vset(kSqrt2OverPi) * vfma(vset(kGeluC) * x, x * x, x);
  return vset(0.5f) * x * (vset(1.0f) + vtanh(u));
}
inline vf gelu_tanh_grad(vf x) {
  vf x2 = x * x;
  vf u = vset(kSqrt2OverPi) * vfma(vset(kGeluC) * x, x2, x);
  vf t = vtanh(u);
  vf du = vset(kSqrt2OverPi) * vfma(vset(3.0f * kGeluC), x2, vset(1.0f));
  return vset(0.5f) * (vset(1.0f) + t) + vset(0.5f) * x * (vset(1.0f) - t * t) * du;
}
inline vf gelu_erf(vf x) { return x * vnormcdf(x); }
inline vf gelu_erf_grad(vf x) {
  vf pdf = vset(kInvSqrt2Pi) * vexp(vset(-0.5f) * x * x);
  return vfma(x, pdf, vnormcdf(x));
}
inline vf silu(vf x) { return x * vsigmoid(x); }
inline vf silu_grad(vf x) {
  vf s = vsigmoid(x);
  return s * vfma(x, vset(1.0f) - s, vset(1.0f));
}

// kind: 0 = SiLU, 1 = GELU tanh, 2 = GELU erf
inline vf act(int kind, vf x) { return kind == 0 ? silu(x) : kind == 1 ? gelu_tanh(x) : gelu_erf(x); }
inline vf act_grad(int kind, vf x) { return kind == 0 ? silu_grad(x) : kind == 1 ? gelu_tanh_grad(x) : gelu_erf_grad(x); }

void same_len(const Args& a, const char* name, const F32& x, const char* ref, const F32& r) {
  if (x.n != r.n)
    a.range(std::string(name) + " has " + std::to_string(x.n) + " elements but must have the same length as " + ref +
            " (" + std::to_string(r.n) + ")");
}

void unary_fwd(const F32& x, const F32& out, int kind) {
  parallel_for(x.n, kElemGrain, [&](int64_t b, int64_t e) {
    vec_loop(b, e, [&](int64_t i, int c) { st(out.p + i, act(kind, ld(x.p + i, c)), c); });
  });
}
void unary_bwd(const F32& x, const F32& g, const F32& gi, int kind, bool acc) {
  parallel_for(x.n, kElemGrain, [&](int64_t b, int64_t e) {
    vec_loop(b, e, [&](int64_t i, int c) { st_acc(gi.p + i, ld(g.p + i, c) * act_grad(kind, ld(x.p + i, c)), c, acc); });
  });
}

}  // namespace

Napi::Value Gelu(const Napi::CallbackInfo& info) {
  Args a{info, "gelu"};
  a.count(3);
  F32 x = a.f32(0, "x"), out = a.f32(1, "out");
  const int approx = int(a.enumeration(2, "approximation", 0, 1));
  same_len(a, "out", out, "x", x);
  unary_fwd(x, out, approx == 0 ? 1 : 2);
  return info.Env().Undefined();
}

Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  Args a{info, "geluBackward"};
  a.count(5);
  F32 x = a.f32(0, "x"), g = a.f32(1, "gradOut"), gi = a.f32(2, "gradIn");
  const int approx = int(a.enumeration(3, "approximation", 0, 1));
  const bool acc = a.boolean(4, "accumulate");
  same_len(a, "gradOut", g, "x", x);
  same_len(a, "gradIn", gi, "x", x);
  unary_bwd(x, g, gi, approx == 0 ? 1 : 2, acc);
  return info.Env().Undefined();
}

Napi::Value Silu(const Napi::CallbackInfo& info) {
  Args a{info, "silu"};
  a.count(2);
  F32 x = a.f32(0, "x"), out = a.f32(1, "out");
  same_len(a, "out", out, "x", x);
  unary_fwd(x, out, 0);
  return info.Env().Undefined();
}

Napi::Value SiluBackward(const Napi::CallbackInfo& info) {
  Args a{info, "siluBackward"};
  a.count(4);
  F32 x = a.f32(0, "x"), g = a.f32(1, "gradOut"), gi = a.f32(2, "gradIn");
  const bool acc = a.boolean(3, "accumulate");
  same_len(a, "gradOut", g, "x", x);
  same_len(a, "gradIn", gi, "x", x);
  unary_bwd(x, g, gi, 0, acc);
  return info.Env().Undefined();
}

Napi::Value Gated(const Napi::CallbackInfo& info) {
  Args a{info, "gated"};
  a.count(4);
  const int kind = int(a.enumeration(0, "kind", 0, 2));
  F32 gate = a.f32(1, "gate"), up = a.f32(2, "up"), out = a.f32(3, "out");
  same_len(a, "up", up, "gate", gate);
  same_len(a, "out", out, "gate", gate);
  parallel_for(gate.n, kElemGrain, [&](int64_t b, int64_t e) {
    vec_loop(b, e, [&](int64_t i, int c) { st(out.p + i, act(kind, ld(gate.p + i, c)) * ld(up.p + i, c), c); });
  });
  return info.Env().Undefined();
}

Napi::Value GatedBackward(const Napi::CallbackInfo& info) {
  Args a{info, "gatedBackward"};
  a.count(7);
  const int kind = int(a.enumeration(0, "kind", 0, 2));
  F32 gate = a.f32(1, "gate"), up = a.f32(2, "up"), g = a.f32(3, "gradOut");
  F32 gg = a.f32(4, "gradGate"), gu = a.f32(5, "gradUp");
  const bool acc = a.boolean(6, "accumulate");
  same_len(a, "up", up, "gate", gate);
  same_len(a, "gradOut", g, "gate", gate);
  same_len(a, "gradGate", gg, "gate", gate);
  same_len(a, "gradUp", gu, "gate", gate);
  parallel_for(gate.n, kElemGrain, [&](int64_t b, int64_t e) {
    vec_loop(b, e, [&](int64_t i, int c) {
      vf x = ld(gate.p + i, c), u = ld(up.p + i, c), go = ld(g.p + i, c);
      vf fx = act(kind, x), dfx = act_grad(kind, x);
      vf dgate = go * u * dfx, dup = go * fx;
      st_acc(gg.p + i, dgate, c, acc);
      st_acc(gu.p + i, dup, c, acc);
    });
  });
  return info.Env().Undefined();
}

}  // namespace imp
