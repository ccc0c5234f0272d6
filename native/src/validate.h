// Argument extraction and validation helpers. Every kernel validates all of its
// arguments with these before touching memory; failures throw a JS TypeError or
// RangeError whose message names the kernel, the argument, the expectation and
// what was given.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

namespace imp {

struct F32 {
  float* p = nullptr;
  int64_t n = 0;
  bool present = false;
};
struct I32 {
  int32_t* p = nullptr;
  int64_t n = 0;
};

// Describes a JS value for error messages, e.g. "Float64Array(12)", "null", "number -1".
std::string describe(const Napi::Value& v);
std::string num_str(double v);

[[noreturn]] void throw_type(Napi::Env env, const std::string& msg);
[[noreturn]] void throw_range(Napi::Env env, const std::string& msg);

struct Args {
  const Napi::CallbackInfo& info;
  const char* kernel;
  Napi::Env env() const { return info.Env(); }

  void count(size_t n) const;                          // at least n arguments
  F32 f32(size_t i, const char* name) const;           // required Float32Array
  F32 f32_or_null(size_t i, const char* name) const;   // Float32Array or null/undefined
  I32 i32(size_t i, const char* name) const;           // Int32Array
  int64_t size(size_t i, const char* name) const;      // non-negative integer <= 2^31-1
  int64_t integer(size_t i, const char* name) const;   // any integer in int32 range
  double number(size_t i, const char* name) const;     // any JS number
  bool boolean(size_t i, const char* name) const;      // a JS boolean
  int64_t enumeration(size_t i, const char* name, int64_t lo, int64_t hi) const;

  // Throws RangeError "<kernel>: <name> has <have> elements but <why> needs at least <need>".
  void need(const char* name, int64_t have, int64_t need, const std::string& why) const;
  [[noreturn]] void range(const std::string& msg) const;
  [[noreturn]] void type(const std::string& msg) const;
};

// Integer helpers that refuse to overflow (throw RangeError with the kernel name).
int64_t checked_mul(const Args& a, int64_t x, int64_t y);

// Validates strides/shape arrays for the N-d kernels (ndim <= 8).
// Returns the number of elements of `shape`.
int64_t shape_numel(const Args& a, const I32& shape, const char* name);
// The maximum (and minimum) offset reached by idx·strides over shape, relative to base.
void stride_extent(const I32& shape, const I32& strides, int64_t* minOff, int64_t* maxOff);

}  // namespace imp
