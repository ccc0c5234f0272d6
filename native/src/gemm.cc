// GEMM dispatch: implementation selection, trivial cases, and parallel splitting.
#include "gemm.h"

#include <algorithm>

#include "threadpool.h"

namespace imp {
namespace {
bool g_use_blas = false;

void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  if (beta == 1.0f) return;
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < N; ++j) c[j] = 0.0f;
    } else {
      for (int64_t j = 0; j < N; ++j) c[j] *= beta;
    }
  }
}
}  // namespace

void gemm_init() {
  blas_init();
  g_use_blas = blas_available();
}
bool gemm_has_blas() { return blas_available(); }
bool gemm_using_blas() { return g_use_blas; }
void gemm_use_blas(bool on) { g_use_blas = on && blas_available(); }
std::string gemm_name() { return g_use_blas ? blas_name() : std::string(bundled_name()); }

void gemm_serial(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(M, N, beta, C, ldc);
    return;
  }
  if (gemv_serial(ta, tb, M, N, K, alpha, A, B, ldb, beta, C)) return;
  if (g_use_blas) {
    blas_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  } else {
    bundled_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
}

void gemm_parallel(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                   int64_t sA, const float* B, int64_t ldb, int64_t sB, float beta, float* C, int64_t ldc, int64_t sC,
                   int64_t batch, bool cBatchesOverlap) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  const int T = pool_threads();
  const double work = double(M) * double(N) * double(std::max<int64_t>(K, 1)) * double(batch);
  // A one-row product is bound by reading B, not by arithmetic, so it pays to split
  // across threads at a much smaller size than a full GEMM does.
  const double threshold = M == 1 ? 128.0 * 1024.0 : 96.0 * 96.0 * 96.0;
  if (T <= 1 || work < threshold) {
    for (int64_t b = 0; b < batch; ++b)
      gemm_serial(ta, tb, M, N, K, alpha, A + b * sA, lda, B + b * sB, ldb, beta, C + b * sC, ldc);
    return;
  }
  if (batch >= T && !cBatchesOverlap) {
    parallel_for(batch, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b)
        gemm_serial(ta, tb, M, N, K, alpha, A + b * sA, lda, B + b * sB, ldb, beta, C + b * sC, ldc);
    });
    return;
  }
  for (int64_t b = 0; b < batch; ++b) {
    const float* Ab = A + b * sA;
    const float* Bb = B + b * sB;
    float* Cb = C + b * sC;
    const bool splitRows = M >= 4 * T || M >= N;
    const int64_t extent = splitRows ? M : N;
    const int64_t unit = splitRows ? 6 : 16;  // keep parts aligned to micro-tiles
    const int64_t units = (extent + unit - 1) / unit;
    const int parts = int(std::min<int64_t>(T, units));
    if (parts <= 1) {
      gemm_serial(ta, tb, M, N, K, alpha, Ab, lda, Bb, ldb, beta, Cb, ldc);
      continue;
    }
    parallel_parts(parts, [&](int p) {
      int64_t u0 = units * p / parts, u1 = units * (p + 1) / parts;
      int64_t s = std::min(extent, u0 * unit), e = std::min(extent, u1 * unit);
      if (s >= e) return;
      if (splitRows) {
        gemm_serial(ta, tb, e - s, N, K, alpha, ta ? Ab + s : Ab + s * lda, lda, Bb, ldb, beta, Cb + s * ldc, ldc);
      } else {
        gemm_serial(ta, tb, M, e - s, K, alpha, Ab, lda, tb ? Bb + s * ldb : Bb + s, ldb, beta, Cb + s, ldc);
      }
    });
  }
}

}  // namespace imp
