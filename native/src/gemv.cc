// Matrix-vector products for GEMM calls with a single row (M == 1): decoding one
// token at a time makes every linear layer one. A general GEMM packs the whole
// weight matrix into tiles before multiplying, which for one row costs more than
// the product; here the weights are streamed once, four rows at a time sharing
// each load of x.
#include "gemm.h"
#include "rowops.h"

namespace imp {

// C[0, n] = alpha * sum_k A[k] * B[n, k] + beta * C[0, n], for n in [0, N)  (B stored [N, K]).
static void gemv_rows(int64_t N, int64_t K, float alpha, const float* x, const float* B, int64_t ldb, float beta, float* y) {
  int64_t n = 0;
  for (; n + 4 <= N; n += 4) {
    const float* b0 = B + n * ldb;
    const float* b1 = b0 + ldb;
    const float* b2 = b1 + ldb;
    const float* b3 = b2 + ldb;
    vf a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
    int64_t k = 0;
    for (; k + VW <= K; k += VW) {
      const vf xv = vload(x + k);
      a0 = vfma(xv, vload(b0 + k), a0);
      a1 = vfma(xv, vload(b1 + k), a1);
      a2 = vfma(xv, vload(b2 + k), a2);
      a3 = vfma(xv, vload(b3 + k), a3);
    }
    if (k < K) {
      const int c = int(K - k);
      const vf xv = vload_partial(x + k, c, 0.0f);
      a0 = vfma(xv, vload_partial(b0 + k, c, 0.0f), a0);
      a1 = vfma(xv, vload_partial(b1 + k, c, 0.0f), a1);
      a2 = vfma(xv, vload_partial(b2 + k, c, 0.0f), a2);
      a3 = vfma(xv, vload_partial(b3 + k, c, 0.0f), a3);
    }
    const float s[4] = {hsum(a0), hsum(a1), hsum(a2), hsum(a3)};
    for (int r = 0; r < 4; ++r) y[n + r] = alpha * s[r] + (beta == 0.0f ? 0.0f : beta * y[n + r]);
  }
  for (; n < N; ++n) {
    const float s = row_dot(x, B + n * ldb, K);
    y[n] = alpha * s + (beta == 0.0f ? 0.0f : beta * y[n]);
  }
}

// C[0, n] = alpha * sum_k A[k] * B[k, n] + beta * C[0, n]  (B stored [K, N]): rows of B scaled and summed.
static void gemv_columns(int64_t N, int64_t K, float alpha, const float* x, const float* B, int64_t ldb, float beta, float* y) {
  for (int64_t n = 0; n < N; ++n) y[n] = beta == 0.0f ? 0.0f : beta * y[n];
  for (int64_t k = 0; k < K; ++k) {
    const vf s = vset(alpha * x[k]);
    const float* b = B + k * ldb;
    vec_loop(0, N, [&](int64_t i, int c) { st(y + i, vfma(s, ld(b + i, c), ld(y + i, c)), c); });
  }
}

bool gemv_serial(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, const float* B,
                 int64_t ldb, float beta, float* C) {
  if (M != 1 || ta) return false;
  if (tb) gemv_rows(N, K, alpha, A, B, ldb, beta, C);
  else gemv_columns(N, K, alpha, A, B, ldb, beta, C);
  return true;
}

}  // namespace imp
