// GEMM: row-major C = alpha * op(A) @ op(B) + beta * C, single call (serial) or
// batched and split across the thread pool. Backends: cblas (OpenBLAS/Accelerate,
// forced single-threaded) or the bundled packed AVX2/FMA kernel.
#pragma once
#include <cstdint>
#include <string>

namespace imp {

// Serial GEMM on the selected implementation. Caller guarantees valid sizes/extents.
void gemm_serial(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Batched GEMM, parallelised over batch (when batch >= threads and the C batches do not
// overlap), else over rows of C (or columns when M is small). Deterministic.
void gemm_parallel(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                   int64_t sA, const float* B, int64_t ldb, int64_t sB, float beta, float* C, int64_t ldc, int64_t sC,
                   int64_t batch, bool cBatchesOverlap);

bool gemm_has_blas();
bool gemm_using_blas();
void gemm_use_blas(bool on);  // caller checks gemm_has_blas()
std::string gemm_name();
void gemm_init();  // called once at load: forces BLAS single-threaded

// Implementations (serial; M, N, K > 0; beta already applied by the caller when needed).
void bundled_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                   const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
bool blas_available();
void blas_init();
std::string blas_name();
void blas_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
const char* bundled_name();

// One-row products (M == 1, A not transposed) without packing; false if not applicable.
bool gemv_serial(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, const float* B,
                 int64_t ldb, float beta, float* C);

}  // namespace imp
