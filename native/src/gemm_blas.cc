// cblas backend (OpenBLAS / any cblas on Linux, Accelerate on macOS).
#include "gemm.h"

#if defined(IMPRINT_HAVE_CBLAS)
#if defined(IMPRINT_HAVE_ACCELERATE)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif
#endif

namespace imp {

#if defined(IMPRINT_HAVE_CBLAS)
bool blas_available() { return true; }

void blas_init() {
#if defined(IMPRINT_HAVE_OPENBLAS)
  openblas_set_num_threads(1);
#endif
}

std::string blas_name() {
#if defined(IMPRINT_HAVE_OPENBLAS)
  const char* core = openblas_get_corename();
  return std::string("openblas (") + (core ? core : "unknown") + ")";
#elif defined(IMPRINT_HAVE_ACCELERATE)
  return "accelerate";
#else
  return "cblas";
#endif
}

void blas_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K),
              alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
}
#else
bool blas_available() { return false; }
void blas_init() {}
std::string blas_name() { return "none"; }
void blas_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  bundled_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif

}  // namespace imp
