// A small fixed-size thread pool with static partitioning.
// Workers spin briefly (~50us) waiting for work, then sleep on a condition variable.
// `run(parts, fn)` executes fn(part) for part in [0, parts) with part 0 on the calling
// thread. Nested calls (from inside a worker) and calls while the pool is busy (e.g.
// from a second JS thread) run serially on the caller, so nothing ever deadlocks.
#pragma once
#include <algorithm>
#include <cstdint>

namespace imp {

using PartFn = void (*)(void* ctx, int part);

int pool_threads();              // total threads including the caller
void pool_set_threads(int n);    // n >= 1
void pool_dispatch(int parts, PartFn fn, void* ctx);

template <class F>
void parallel_parts(int parts, F&& f) {
  if (parts <= 1) {
    if (parts == 1) f(0);
    return;
  }
  auto thunk = [](void* ctx, int part) { (*static_cast<F*>(ctx))(part); };
  pool_dispatch(parts, thunk, static_cast<void*>(&f));
}

// Static contiguous partition of [0, n) into at most pool_threads() parts of at least
// `grain` items each: f(begin, end). Results of per-item work never depend on it.
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  int64_t g = std::max<int64_t>(1, grain);
  int64_t parts = std::min<int64_t>(pool_threads(), std::max<int64_t>(1, n / g));
  if (parts <= 1) {
    f(int64_t(0), n);
    return;
  }
  parallel_parts(int(parts), [&](int p) {
    int64_t b = n * p / parts, e = n * (p + 1) / parts;
    if (b < e) f(b, e);
  });
}

// Like parallel_for but also passes the part index (0 <= part < parts), for per-part
// scratch: f(part, begin, end). Returns through `partsOut` how many parts it used
// when non-null (call parallel_plan first to size scratch).
inline int parallel_plan(int64_t n, int64_t grain) {
  if (n <= 0) return 0;
  int64_t g = std::max<int64_t>(1, grain);
  return int(std::min<int64_t>(pool_threads(), std::max<int64_t>(1, n / g)));
}
template <class F>
void parallel_for_id(int64_t n, int parts, F&& f) {
  if (n <= 0 || parts <= 0) return;
  if (parts == 1) {
    f(0, int64_t(0), n);
    return;
  }
  parallel_parts(parts, [&](int p) {
    int64_t b = n * p / parts, e = n * (p + 1) / parts;
    if (b < e) f(p, b, e);
  });
}

}  // namespace imp
