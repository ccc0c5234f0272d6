#include "threadpool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define IMP_PAUSE() _mm_pause()
#else
#define IMP_PAUSE() std::this_thread::yield()
#endif

namespace imp {
namespace {

thread_local bool t_in_pool = false;

class Pool {
 public:
  Pool() {
    int n = int(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("IMPRINT_THREADS")) {
      char* end = nullptr;
      long v = std::strtol(env, &end, 10);
      if (end != env && v >= 1) n = int(std::min<long>(v, 1024));
    }
    start(std::max(1, n));
  }
  ~Pool() { stop(); }

  int size() const { return size_; }

  void resize(int n) {
    std::lock_guard<std::mutex> busy(busy_);
    stop();
    start(std::max(1, n));
  }

  void dispatch(int parts, PartFn fn, void* ctx) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (t_in_pool || !busy.owns_lock() || size_ <= 1) {
      for (int p = 0; p < parts; ++p) fn(ctx, p);
      return;
    }
    int active = std::min(parts, size_);
    fn_ = fn;
    ctx_ = ctx;
    pending_.store(active - 1, std::memory_order_relaxed);
    uint64_t g = (gen_.load(std::memory_order_relaxed) >> 16) + 1;
    gen_.store((g << 16) | uint64_t(active), std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard<std::mutex> lk(m_); }
      cv_.notify_all();
    }
    t_in_pool = true;
    fn(ctx, 0);
    // Parts beyond the thread count run on the caller (callers normally pass <= size).
    for (int p = active; p < parts; ++p) fn(ctx, p);
    t_in_pool = false;
    int spins = 0;
    while (pending_.load(std::memory_order_acquire) != 0) {
      if (++spins < 20000) IMP_PAUSE();
      else std::this_thread::yield();
    }
  }

 private:
  void start(int n) {
    size_ = n;
    stop_.store(false);
    // The generation is captured here, not in the new thread: a dispatch or stop that
    // happens before the thread first runs must still be seen by it.
    const uint64_t g0 = gen_.load(std::memory_order_seq_cst);
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i, g0] { loop(i, g0); });
  }
  void stop() {
    if (workers_.empty()) return;
    stop_.store(true, std::memory_order_seq_cst);
    uint64_t g = (gen_.load() >> 16) + 1;
    gen_.store(g << 16, std::memory_order_seq_cst);
    { std::lock_guard<std::mutex> lk(m_); }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }
  void loop(int id, uint64_t seen) {
    t_in_pool = true;
    for (;;) {
      uint64_t g;
      auto t0 = std::chrono::steady_clock::now();
      int spins = 0;
      while ((g = gen_.load(std::memory_order_acquire)) == seen) {
        if (++spins % 256 == 0 &&
            std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(60)) {
          std::unique_lock<std::mutex> lk(m_);
          sleeping_.fetch_add(1, std::memory_order_seq_cst);
          cv_.wait(lk, [&] { return gen_.load(std::memory_order_seq_cst) != seen; });
          sleeping_.fetch_sub(1, std::memory_order_seq_cst);
          t0 = std::chrono::steady_clock::now();
          spins = 0;
        } else {
          IMP_PAUSE();
        }
      }
      seen = g;
      if (stop_.load(std::memory_order_acquire)) return;
      int active = int(g & 0xffff);
      if (id < active) {
        fn_(ctx_, id);
        pending_.fetch_sub(1, std::memory_order_release);
      }
    }
  }

  int size_ = 1;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleeping_{0};
  std::atomic<bool> stop_{false};
  PartFn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::mutex m_, busy_;
  std::condition_variable cv_;
};

Pool& pool() {
  static Pool* p = new Pool();  // intentionally leaked: no join at process exit
  return *p;
}

}  // namespace

int pool_threads() { return pool().size(); }
void pool_set_threads(int n) { pool().resize(n); }
void pool_dispatch(int parts, PartFn fn, void* ctx) { pool().dispatch(parts, fn, ctx); }

}  // namespace imp
