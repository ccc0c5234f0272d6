// N-API entry for gemm: validation of sizes, leading dimensions and buffer extents.
#include <string>

#include "gemm.h"
#include "kernels.h"
#include "validate.h"

namespace imp {
namespace {
int64_t extent(int64_t rows, int64_t cols, int64_t ld) { return (rows == 0 || cols == 0) ? 0 : (rows - 1) * ld + cols; }
}  // namespace

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Args a{info, "gemm"};
  a.count(17);
  const bool ta = a.boolean(0, "transA"), tb = a.boolean(1, "transB");
  const int64_t M = a.size(2, "M"), N = a.size(3, "N"), K = a.size(4, "K");
  const double alpha = a.number(5, "alpha");
  F32 A = a.f32(6, "A");
  const int64_t lda = a.size(7, "lda");
  F32 B = a.f32(9, "B");
  const int64_t ldb = a.size(10, "ldb");
  const double beta = a.number(12, "beta");
  F32 C = a.f32(13, "C");
  const int64_t ldc = a.size(14, "ldc");
  const int64_t batch = a.size(16, "batch");
  int64_t sA = 0, sB = 0, sC = 0;
  if (batch > 1) {
    sA = a.size(8, "strideA");
    sB = a.size(11, "strideB");
    sC = a.size(15, "strideC");
  } else {
    a.number(8, "strideA");
    a.number(11, "strideB");
    a.number(15, "strideC");
  }
  const int64_t rA = ta ? K : M, cA = ta ? M : K, rB = tb ? N : K, cB = tb ? K : N;
  const std::string tA = std::string("transA=") + (ta ? "true" : "false");
  const std::string tB = std::string("transB=") + (tb ? "true" : "false");
  if (lda < cA) a.range("lda=" + std::to_string(lda) + " is too small: " + tA + ", M=" + std::to_string(M) + ", K=" + std::to_string(K) + " needs lda >= " + std::to_string(cA));
  if (ldb < cB) a.range("ldb=" + std::to_string(ldb) + " is too small: " + tB + ", K=" + std::to_string(K) + ", N=" + std::to_string(N) + " needs ldb >= " + std::to_string(cB));
  if (ldc < N) a.range("ldc=" + std::to_string(ldc) + " is too small: N=" + std::to_string(N) + " needs ldc >= " + std::to_string(N));
  auto total = [&](int64_t ext, int64_t stride) -> int64_t {
    if (batch == 0 || ext == 0) return 0;
    return checked_mul(a, batch - 1, stride) + ext;
  };
  const std::string bs = batch > 1 ? ", batch=" + std::to_string(batch) : std::string();
  const int64_t eA = extent(rA, cA, lda), eB = extent(rB, cB, ldb), eC = extent(M, N, ldc);
  a.need("A", A.n, total(eA, sA), tA + ", M=" + std::to_string(M) + ", K=" + std::to_string(K) + ", lda=" + std::to_string(lda) + bs + (batch > 1 ? ", strideA=" + std::to_string(sA) : ""));
  a.need("B", B.n, total(eB, sB), tB + ", K=" + std::to_string(K) + ", N=" + std::to_string(N) + ", ldb=" + std::to_string(ldb) + bs + (batch > 1 ? ", strideB=" + std::to_string(sB) : ""));
  a.need("C", C.n, total(eC, sC), "M=" + std::to_string(M) + ", N=" + std::to_string(N) + ", ldc=" + std::to_string(ldc) + bs + (batch > 1 ? ", strideC=" + std::to_string(sC) : ""));
  const bool overlap = batch > 1 && sC < eC;
  gemm_parallel(ta, tb, M, N, K, float(alpha), A.p, lda, sA, B.p, ldb, sB, float(beta), C.p, ldc, sC, batch, overlap);
  return info.Env().Undefined();
}

}  // namespace imp
