// Addon entry: registers every kernel plus thread/GEMM controls. Each kernel is wrapped
// so that any C++ exception becomes a JS Error instead of terminating the process.
#include <napi.h>

#include <string>

#include "gemm.h"
#include "kernels.h"
#include "threadpool.h"
#include "validate.h"

namespace imp {
namespace {

template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(info.Env(), "imprint native: out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("imprint native: ") + e.what());
  }
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a{info, "setThreads"};
  a.count(1);
  Napi::Value v = info[0];
  if (!v.IsNumber()) a.type("n must be a positive integer, got " + describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 1) || d != double(int64_t(d)) || d > 1024) a.range("n must be an integer in [1, 1024], got " + num_str(d));
  pool_set_threads(int(d));
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), pool_threads()); }

Napi::Value SetGemmImplementation(const Napi::CallbackInfo& info) {
  Args a{info, "setGemmImplementation"};
  a.count(1);
  Napi::Value v = info[0];
  const std::string kind = v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
  if (kind == "blas") {
    if (!gemm_has_blas())
      throw Napi::Error::New(info.Env(), "setGemmImplementation: 'blas' is unavailable: the addon was built without a cblas library");
    gemm_use_blas(true);
  } else if (kind == "bundled") {
    gemm_use_blas(false);
  } else {
    a.type("kind must be 'blas' or 'bundled', got " + (v.IsString() ? "'" + kind + "'" : describe(v)));
  }
  return info.Env().Undefined();
}

Napi::Value GetGemmImplementation(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), gemm_name()); }

}  // namespace
}  // namespace imp

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace imp;
  gemm_init();
#define REG(js, fn) exports.Set(js, Napi::Function::New(env, guarded<fn>, js));
  REG("gemm", Gemm)
  REG("fill", Fill)
  REG("scaleInto", ScaleInto)
  REG("broadcastBinary", BroadcastBinary)
  REG("copyStrided", CopyStrided)
  REG("sumAxis", SumAxis)
  REG("sumAll", SumAll)
  REG("sumSquares", SumSquares)
  REG("findNonFinite", FindNonFinite)
  REG("gelu", Gelu)
  REG("geluBackward", GeluBackward)
  REG("silu", Silu)
  REG("siluBackward", SiluBackward)
  REG("gated", Gated)
  REG("gatedBackward", GatedBackward)
  REG("layerNorm", LayerNorm)
  REG("layerNormBackward", LayerNormBackward)
  REG("rmsNorm", RmsNorm)
  REG("rmsNormBackward", RmsNormBackward)
  REG("rope", Rope)
  REG("attention", Attention)
  REG("attentionBackward", AttentionBackward)
  REG("softmax", Softmax)
  REG("softmaxBackward", SoftmaxBackward)
  REG("logSoftmax", LogSoftmax)
  REG("logSoftmaxBackward", LogSoftmaxBackward)
  REG("crossEntropy", CrossEntropy)
  REG("crossEntropyBackward", CrossEntropyBackward)
  REG("klDivergence", KlDivergence)
  REG("klDivergenceBackward", KlDivergenceBackward)
  REG("topK", TopK)
  REG("topKBackward", TopKBackward)
  REG("embedding", Embedding)
  REG("embeddingBackward", EmbeddingBackward)
  REG("adamW", AdamW)
  REG("sgd", Sgd)
  REG("setThreads", SetThreads)
  REG("getThreads", GetThreads)
  REG("setGemmImplementation", SetGemmImplementation)
  REG("getGemmImplementation", GetGemmImplementation)
#undef REG
  exports.Set("hasBlas", Napi::Boolean::New(env, gemm_has_blas()));
  return exports;
}

NODE_API_MODULE(imprint_native, Init)
