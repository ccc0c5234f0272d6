// Minimal 8-lane float SIMD abstraction (AVX2+FMA, or a portable scalar emulation)
// plus vectorised transcendental functions built on it. No fast-math: every
// function here treats NaN/Inf explicitly so non-finite checks keep working.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define IMPRINT_AVX2 1
#endif

namespace imp {

constexpr int VW = 8;  // lanes

#ifdef IMPRINT_AVX2
struct vf { __m256 v; };
struct vm { __m256 v; };
inline vf vload(const float* p) { return {_mm256_loadu_ps(p)}; }
inline void vstore(float* p, vf a) { _mm256_storeu_ps(p, a.v); }
inline vf vset(float x) { return {_mm256_set1_ps(x)}; }
inline vf vzero() { return {_mm256_setzero_ps()}; }
inline vf operator+(vf a, vf b) { return {_mm256_add_ps(a.v, b.v)}; }
inline vf operator-(vf a, vf b) { return {_mm256_sub_ps(a.v, b.v)}; }
inline vf operator*(vf a, vf b) { return {_mm256_mul_ps(a.v, b.v)}; }
inline vf operator/(vf a, vf b) { return {_mm256_div_ps(a.v, b.v)}; }
inline vf vfma(vf a, vf b, vf c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }    // a*b+c
inline vf vfnma(vf a, vf b, vf c) { return {_mm256_fnmadd_ps(a.v, b.v, c.v)}; }  // c-a*b
// NaN-propagating in x: returns x when x is NaN.
inline vf vmax_keepnan(vf lo, vf x) { return {_mm256_max_ps(lo.v, x.v)}; }
inline vf vmin_keepnan(vf hi, vf x) { return {_mm256_min_ps(hi.v, x.v)}; }
inline vf vmax(vf a, vf b) { return {_mm256_max_ps(a.v, b.v)}; }
inline vf vabs(vf a) { return {_mm256_andnot_ps(_mm256_set1_ps(-0.0f), a.v)}; }
inline vf vsqrt(vf a) { return {_mm256_sqrt_ps(a.v)}; }
inline vm vlt(vf a, vf b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ)}; }
inline vm vgt(vf a, vf b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ)}; }
inline vm vge(vf a, vf b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GE_OQ)}; }
inline vf vselect(vm m, vf a, vf b) { return {_mm256_blendv_ps(b.v, a.v, m.v)}; }  // m ? a : b
inline vf vround(vf a) { return {_mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)}; }
inline vf vcopysign(vf mag, vf sgn) {
  const __m256 s = _mm256_set1_ps(-0.0f);
  return {_mm256_or_ps(_mm256_andnot_ps(s, mag.v), _mm256_and_ps(s, sgn.v))};
}
// 2^n for integral-valued n in [-126, 127]
inline vf vpow2i(vf n) {
  __m256i i = _mm256_cvtps_epi32(n.v);
  i = _mm256_slli_epi32(_mm256_add_epi32(i, _mm256_set1_epi32(127)), 23);
  return {_mm256_castsi256_ps(i)};
}
inline float hsum(vf a) {
  __m128 lo = _mm256_castps256_ps128(a.v), hi = _mm256_extractf128_ps(a.v, 1);
  lo = _mm_add_ps(lo, hi);
  __m128 sh = _mm_movehdup_ps(lo);
  __m128 s = _mm_add_ps(lo, sh);
  sh = _mm_movehl_ps(sh, s);
  s = _mm_add_ss(s, sh);
  return _mm_cvtss_f32(s);
}
inline float hmax(vf a) {
  __m128 lo = _mm256_castps256_ps128(a.v), hi = _mm256_extractf128_ps(a.v, 1);
  lo = _mm_max_ps(lo, hi);
  lo = _mm_max_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_max_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}
#else
struct vf { float v[8]; };
struct vm { bool v[8]; };
#define IMP_L for (int l = 0; l < 8; ++l)
inline vf vload(const float* p) { vf r; std::memcpy(r.v, p, sizeof r.v); return r; }
inline void vstore(float* p, vf a) { std::memcpy(p, a.v, sizeof a.v); }
inline vf vset(float x) { vf r; IMP_L r.v[l] = x; return r; }
inline vf vzero() { return vset(0.0f); }
inline vf operator+(vf a, vf b) { IMP_L a.v[l] += b.v[l]; return a; }
inline vf operator-(vf a, vf b) { IMP_L a.v[l] -= b.v[l]; return a; }
inline vf operator*(vf a, vf b) { IMP_L a.v[l] *= b.v[l]; return a; }
inline vf operator/(vf a, vf b) { IMP_L a.v[l] /= b.v[l]; return a; }
inline vf vfma(vf a, vf b, vf c) { IMP_L c.v[l] = std::fma(a.v[l], b.v[l], c.v[l]); return c; }
inline vf vfnma(vf a, vf b, vf c) { IMP_L c.v[l] = std::fma(-a.v[l], b.v[l], c.v[l]); return c; }
inline vf vmax_keepnan(vf lo, vf x) { IMP_L x.v[l] = (lo.v[l] > x.v[l]) ? lo.v[l] : x.v[l]; return x; }
inline vf vmin_keepnan(vf hi, vf x) { IMP_L x.v[l] = (hi.v[l] < x.v[l]) ? hi.v[l] : x.v[l]; return x; }
inline vf vmax(vf a, vf b) { IMP_L a.v[l] = (a.v[l] > b.v[l]) ? a.v[l] : b.v[l]; return a; }
inline vf vabs(vf a) { IMP_L a.v[l] = std::fabs(a.v[l]); return a; }
inline vf vsqrt(vf a) { IMP_L a.v[l] = std::sqrt(a.v[l]); return a; }
inline vm vlt(vf a, vf b) { vm m; IMP_L m.v[l] = a.v[l] < b.v[l]; return m; }
inline vm vgt(vf a, vf b) { vm m; IMP_L m.v[l] = a.v[l] > b.v[l]; return m; }
inline vm vge(vf a, vf b) { vm m; IMP_L m.v[l] = a.v[l] >= b.v[l]; return m; }
inline vf vselect(vm m, vf a, vf b) { IMP_L b.v[l] = m.v[l] ? a.v[l] : b.v[l]; return b; }
inline vf vround(vf a) { IMP_L a.v[l] = std::nearbyint(a.v[l]); return a; }
inline vf vcopysign(vf mag, vf sgn) { IMP_L mag.v[l] = std::copysign(mag.v[l], sgn.v[l]); return mag; }
inline vf vpow2i(vf n) {
  vf r;
  IMP_L {
    int32_t e = 0;
    if (n.v[l] == n.v[l]) e = (int32_t)n.v[l];
    uint32_t bits = (uint32_t)(e + 127) << 23;
    std::memcpy(&r.v[l], &bits, 4);
  }
  return r;
}
inline float hsum(vf a) {
  float s0 = (a.v[0] + a.v[4]) , s1 = (a.v[1] + a.v[5]), s2 = (a.v[2] + a.v[6]), s3 = (a.v[3] + a.v[7]);
  return (s0 + s2) + (s1 + s3);
}
inline float hmax(vf a) { float m = a.v[0]; for (int l = 1; l < 8; ++l) m = a.v[l] > m ? a.v[l] : m; return m; }
#undef IMP_L
#endif

// Loads up to n (< 8) floats, padding with `pad`.
inline vf vload_partial(const float* p, int n, float pad) {
  float buf[8];
  for (int l = 0; l < 8; ++l) buf[l] = l < n ? p[l] : pad;
  return vload(buf);
}
inline void vstore_partial(float* p, vf a, int n) {
  float buf[8];
  vstore(buf, a);
  for (int l = 0; l < n; ++l) p[l] = buf[l];
}

// exp(x): ~1 ulp on [-87.33, 88.37]; below -> 0, above -> +inf, NaN -> NaN.
inline vf vexp(vf x) {
  const vf lo = vset(-87.3365447505531f), hi = vset(88.37f);
  vf xc = vmin_keepnan(hi, vmax_keepnan(lo, x));
  vf n = vround(xc * vset(1.44269504088896341f));
  vf r = vfnma(n, vset(0.693359375f), xc);
  r = vfnma(n, vset(-2.12194440e-4f), r);
  vf y = vset(1.9875691500E-4f);
  y = vfma(y, r, vset(1.3981999507E-3f));
  y = vfma(y, r, vset(8.3334519073E-3f));
  y = vfma(y, r, vset(4.1665795894E-2f));
  y = vfma(y, r, vset(1.6666665459E-1f));
  y = vfma(y, r, vset(5.0000001201E-1f));
  y = vfma(y, r * r, r + vset(1.0f));
  vf res = y * vpow2i(n);
  res = vselect(vlt(x, lo), vzero(), res);
  res = vselect(vgt(x, hi), vset(std::numeric_limits<float>::infinity()), res);
  return res;
}

// tanh(x): polynomial for |x| < 0.625 (Cephes), 1 - 2/(exp(2|x|)+1) otherwise.
inline vf vtanh(vf x) {
  vf ax = vabs(x);
  vf z = x * x;
  vf p = vset(-5.70498872745E-3f);
  p = vfma(p, z, vset(2.06390887954E-2f));
  p = vfma(p, z, vset(-5.37397155531E-2f));
  p = vfma(p, z, vset(1.33314422036E-1f));
  p = vfma(p, z, vset(-3.33332819422E-1f));
  vf small = vfma(p * z, x, x);
  vf e = vexp(ax + ax);
  vf big = vset(1.0f) - vset(2.0f) / (e + vset(1.0f));
  big = vcopysign(big, x);
  return vselect(vlt(ax, vset(0.625f)), small, big);  // NaN: compare false -> big (NaN)
}

inline vf vsigmoid(vf x) { return vset(1.0f) / (vset(1.0f) + vexp(vzero() - x)); }

// erfc(|x|) with relative error < 1.2e-7 (Numerical Recipes erfcc), for x >= 0.
inline vf verfc_pos(vf z) {
  vf t = vset(1.0f) / vfma(vset(0.5f), z, vset(1.0f));
  vf p = vset(0.17087277f);
  p = vfma(p, t, vset(-0.82215223f));
  p = vfma(p, t, vset(1.48851587f));
  p = vfma(p, t, vset(-1.13520398f));
  p = vfma(p, t, vset(0.27886807f));
  p = vfma(p, t, vset(-0.18628806f));
  p = vfma(p, t, vset(0.09678418f));
  p = vfma(p, t, vset(0.37409196f));
  p = vfma(p, t, vset(1.00002368f));
  p = vfma(p, t, vset(-1.26551223f));
  return t * vexp(p - z * z);
}

// Phi(x) = 0.5 * erfc(-x / sqrt 2): the standard normal CDF.
inline vf vnormcdf(vf x) {
  vf z = vabs(x) * vset(0.70710678118654752f);
  vf e = verfc_pos(z);
  vf half_e = vset(0.5f) * e;
  return vselect(vge(x, vzero()), vset(1.0f) - half_e, half_e);
}

// Scalar helpers that run the same vector code (bit-identical to the vector paths).
inline float sexp(float x) { float b[8]; vstore(b, vexp(vset(x))); return b[0]; }

}  // namespace imp
