// Bundled GEMM: BLIS-style packed, cache-blocked kernel with a 6x16 AVX2/FMA
// register tile (portable scalar micro-kernel when AVX2 is unavailable).
// Serial; the caller (gemm.cc) splits work across threads. The K reduction order
// is fixed by the blocking, so results do not depend on how M/N are split.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "gemm.h"
#include "simd.h"

namespace imp {
namespace {

constexpr int64_t MR = 6, NR = 16;
constexpr int64_t MC = 144, KC = 256, NC = 2048;

struct Buffers {
  float* a = nullptr;
  float* b = nullptr;
  bool ok = false;
  Buffers() {
    a = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * MC * KC));
    b = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * KC * NC));
    ok = a && b;
  }
  ~Buffers() {
    std::free(a);
    std::free(b);
  }
};

Buffers& buffers() {
  static thread_local Buffers buf;
  return buf;
}

// Packs alpha * op(A)[i0:i0+mc, p0:p0+kc] into row panels of MR: ap[panel][k][MR].
void pack_a(bool ta, const float* A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float alpha,
            float* ap) {
  for (int64_t ir = 0; ir < mc; ir += MR) {
    const int64_t mr = std::min(MR, mc - ir);
    float* dst = ap + ir * kc;
    if (!ta) {
      for (int64_t i = 0; i < MR; ++i) {
        if (i < mr) {
          const float* src = A + (i0 + ir + i) * lda + p0;
          for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = alpha * src[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = 0.0f;
        }
      }
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = A + (p0 + k) * lda + i0 + ir;
        float* d = dst + k * MR;
        int64_t i = 0;
        for (; i < mr; ++i) d[i] = alpha * src[i];
        for (; i < MR; ++i) d[i] = 0.0f;
      }
    }
  }
}

// Packs op(B)[p0:p0+kc, j0:j0+nc] into column panels of NR: bp[panel][k][NR].
void pack_b(bool tb, const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* bp) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int64_t nr = std::min(NR, nc - jr);
    float* dst = bp + jr * kc;
    if (!tb) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = B + (p0 + k) * ldb + j0 + jr;
        float* d = dst + k * NR;
        if (nr == NR) {
          std::memcpy(d, src, sizeof(float) * NR);
        } else {
          int64_t j = 0;
          for (; j < nr; ++j) d[j] = src[j];
          for (; j < NR; ++j) d[j] = 0.0f;
        }
      }
    } else {
      for (int64_t j = 0; j < NR; ++j) {
        if (j < nr) {
          const float* src = B + (j0 + jr + j) * ldb + p0;
          for (int64_t k = 0; k < kc; ++k) dst[k * NR + j] = src[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) dst[k * NR + j] = 0.0f;
        }
      }
    }
  }
}

#ifdef IMPRINT_AVX2
// c[0:6, 0:16] += a_panel * b_panel
inline void micro_6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 av;
    av = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
    a += MR;
    b += NR;
  }
#define IMP_STORE(r, x0, x1)                                                     \
  _mm256_storeu_ps(c + r * ldc, _mm256_add_ps(_mm256_loadu_ps(c + r * ldc), x0)); \
  _mm256_storeu_ps(c + r * ldc + 8, _mm256_add_ps(_mm256_loadu_ps(c + r * ldc + 8), x1));
  IMP_STORE(0, c00, c01) IMP_STORE(1, c10, c11) IMP_STORE(2, c20, c21)
  IMP_STORE(3, c30, c31) IMP_STORE(4, c40, c41) IMP_STORE(5, c50, c51)
#undef IMP_STORE
}
#else
inline void micro_6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int64_t i = 0; i < MR; ++i) {
      const float av = a[i];
      for (int64_t j = 0; j < NR; ++j) acc[i][j] = std::fma(av, b[j], acc[i][j]);
    }
    a += MR;
    b += NR;
  }
  for (int64_t i = 0; i < MR; ++i)
    for (int64_t j = 0; j < NR; ++j) c[i * ldc + j] += acc[i][j];
}
#endif

// Plain triple loop (used only if the packing buffers cannot be allocated).
void naive(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float s = 0.0f;
      for (int64_t k = 0; k < K; ++k) s += (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
      C[i * ldc + j] += alpha * s;
    }
}

}  // namespace

const char* bundled_name() {
#ifdef IMPRINT_AVX2
  return "bundled-avx2";
#else
  return "bundled-generic";
#endif
}

void bundled_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                   const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (beta != 1.0f) {
    for (int64_t i = 0; i < M; ++i) {
      float* c = C + i * ldc;
      if (beta == 0.0f) std::fill(c, c + N, 0.0f);
      else for (int64_t j = 0; j < N; ++j) c[j] *= beta;
    }
  }
  if (K <= 0 || alpha == 0.0f) return;
  Buffers& buf = buffers();
  if (!buf.ok) {
    naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, C, ldc);
    return;
  }
  alignas(64) float tile[MR * NR];
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      pack_b(tb, B, ldb, pc, kc, jc, nc, buf.b);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        pack_a(ta, A, lda, ic, mc, pc, kc, alpha, buf.a);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = std::min(NR, nc - jr);
          const float* bp = buf.b + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = std::min(MR, mc - ir);
            const float* ap = buf.a + ir * kc;
            float* c = C + (ic + ir) * ldc + jc + jr;
            if (mr == MR && nr == NR) {
              micro_6x16(kc, ap, bp, c, ldc);
            } else {
              std::memset(tile, 0, sizeof tile);
              micro_6x16(kc, ap, bp, tile, NR);
              for (int64_t i = 0; i < mr; ++i)
                for (int64_t j = 0; j < nr; ++j) c[i * ldc + j] += tile[i * NR + j];
            }
          }
        }
      }
    }
  }
}

}  // namespace imp
