// In-place optimiser steps: AdamW (decoupled weight decay) and SGD (PyTorch semantics).
#include <cmath>

#include "kernels.h"
#include "rowops.h"
#include "threadpool.h"
#include "validate.h"

namespace imp {
namespace {
void same_len(const Args& a, const char* name, const F32& x, const F32& p) {
  if (x.n != p.n)
    a.range(std::string(name) + " has " + std::to_string(x.n) + " elements but must have the same length as param (" +
            std::to_string(p.n) + ")");
}
}  // namespace

Napi::Value AdamW(const Napi::CallbackInfo& info) {
  Args a{info, "adamW"};
  a.count(11);
  F32 p = a.f32(0, "param"), g = a.f32(1, "grad"), m = a.f32(2, "m"), v = a.f32(3, "v");
  const float lr = float(a.number(4, "lr")), b1 = float(a.number(5, "beta1")), b2 = float(a.number(6, "beta2"));
  const float eps = float(a.number(7, "eps")), wd = float(a.number(8, "weightDecay"));
  const float bc1 = float(a.number(9, "biasCorrection1")), bc2 = float(a.number(10, "biasCorrection2"));
  same_len(a, "grad", g, p);
  same_len(a, "m", m, p);
  same_len(a, "v", v, p);
  const float ib1 = 1.0f - b1, ib2 = 1.0f - b2, ibc1 = 1.0f / bc1, ibc2 = 1.0f / bc2;
  parallel_for(p.n, kElemGrain, [&](int64_t b, int64_t e) {
    float* pp = p.p;
    const float* gp = g.p;
    float* mp = m.p;
    float* vp = v.p;
    for (int64_t i = b; i < e; ++i) {
      const float gi = gp[i];
      const float mi = b1 * mp[i] + ib1 * gi;
      const float vi = b2 * vp[i] + ib2 * (gi * gi);
      mp[i] = mi;
      vp[i] = vi;
      const float mh = mi * ibc1, vh = vi * ibc2;
      pp[i] -= lr * (wd * pp[i] + mh / (std::sqrt(vh) + eps));
    }
  });
  return info.Env().Undefined();
}

Napi::Value Sgd(const Napi::CallbackInfo& info) {
  Args a{info, "sgd"};
  a.count(9);
  F32 p = a.f32(0, "param"), g = a.f32(1, "grad"), buf = a.f32(2, "momentumBuffer");
  const float lr = float(a.number(3, "lr")), mom = float(a.number(4, "momentum"));
  const float damp = float(a.number(5, "dampening")), wd = float(a.number(6, "weightDecay"));
  const bool nesterov = a.boolean(7, "nesterov"), first = a.boolean(8, "firstStep");
  same_len(a, "grad", g, p);
  if (mom == 0.0f) {  // PyTorch: no momentum buffer (neither read, written nor length-checked)
    parallel_for(p.n, kElemGrain, [&](int64_t b, int64_t e) {
      float* pp = p.p;
      const float* gp = g.p;
      for (int64_t i = b; i < e; ++i) pp[i] -= lr * (gp[i] + wd * pp[i]);
    });
    return info.Env().Undefined();
  }
  same_len(a, "momentumBuffer", buf, p);
  const float id = 1.0f - damp;
  parallel_for(p.n, kElemGrain, [&](int64_t b, int64_t e) {
    float* pp = p.p;
    const float* gp = g.p;
    float* bp = buf.p;
    for (int64_t i = b; i < e; ++i) {
      const float gi = gp[i] + wd * pp[i];
      const float bi = first ? gi : mom * bp[i] + id * gi;
      bp[i] = bi;
      const float step = nesterov ? gi + mom * bi : bi;
      pp[i] -= lr * step;
    }
  });
  return info.Env().Undefined();
}

}  // namespace imp
