// Declarations of every N-API kernel entry point (one group per source file).
#pragma once
#include <napi.h>

namespace imp {
#define IMP_K(name) Napi::Value name(const Napi::CallbackInfo& info);
// gemm_napi.cc
IMP_K(Gemm)
// elementwise.cc
IMP_K(Fill) IMP_K(ScaleInto) IMP_K(BroadcastBinary) IMP_K(CopyStrided) IMP_K(SumAxis)
IMP_K(SumAll) IMP_K(SumSquares) IMP_K(FindNonFinite)
// activations.cc
IMP_K(Gelu) IMP_K(GeluBackward) IMP_K(Silu) IMP_K(SiluBackward) IMP_K(Gated) IMP_K(GatedBackward)
// norms.cc
IMP_K(LayerNorm) IMP_K(LayerNormBackward) IMP_K(RmsNorm) IMP_K(RmsNormBackward)
// rope.cc
IMP_K(Rope)
// attention.cc
IMP_K(Attention) IMP_K(AttentionBackward)
// softmax.cc
IMP_K(Softmax) IMP_K(SoftmaxBackward) IMP_K(LogSoftmax) IMP_K(LogSoftmaxBackward)
// losses.cc
IMP_K(CrossEntropy) IMP_K(CrossEntropyBackward) IMP_K(KlDivergence) IMP_K(KlDivergenceBackward)
// topk.cc
IMP_K(TopK) IMP_K(TopKBackward)
// embedding.cc
IMP_K(Embedding) IMP_K(EmbeddingBackward)
// optimizers.cc
IMP_K(AdamW) IMP_K(Sgd)
#undef IMP_K
}  // namespace imp
