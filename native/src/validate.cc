#include "validate.h"

#include <cmath>
#include <cstdio>

namespace imp {

std::string num_str(double v) {
  char buf[64];
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", v);
  }
  return buf;
}

static const char* typed_name(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "TypedArray";
  }
}

std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsTypedArray()) {
    auto t = v.As<Napi::TypedArray>();
    return std::string(typed_name(t.TypedArrayType())) + "(" + std::to_string(t.ElementLength()) + ")";
  }
  if (v.IsNumber()) return "number " + num_str(v.As<Napi::Number>().DoubleValue());
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsString()) return "a string";
  if (v.IsArray()) return "an Array";
  if (v.IsArrayBuffer()) return "an ArrayBuffer";
  if (v.IsFunction()) return "a function";
  if (v.IsObject()) return "an object";
  return "an unsupported value";
}

void throw_type(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }
void throw_range(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

void Args::range(const std::string& msg) const { throw_range(env(), std::string(kernel) + ": " + msg); }
void Args::type(const std::string& msg) const { throw_type(env(), std::string(kernel) + ": " + msg); }

void Args::count(size_t n) const {
  if (info.Length() < n) {
    type("expected " + std::to_string(n) + " arguments, got " + std::to_string(info.Length()));
  }
}

F32 Args::f32(size_t i, const char* name) const {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    type(std::string(name) + " must be a Float32Array, got " + describe(v));
  }
  auto a = v.As<Napi::Float32Array>();
  F32 r;
  r.p = a.Data();
  r.n = int64_t(a.ElementLength());
  r.present = true;
  if (r.p == nullptr) r.n = 0;  // detached buffer
  return r;
}

F32 Args::f32_or_null(size_t i, const char* name) const {
  Napi::Value v = info[i];
  if (v.IsNull() || v.IsUndefined()) return F32{};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    type(std::string(name) + " must be a Float32Array or null, got " + describe(v));
  }
  return f32(i, name);
}

I32 Args::i32(size_t i, const char* name) const {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    type(std::string(name) + " must be an Int32Array, got " + describe(v));
  }
  auto a = v.As<Napi::Int32Array>();
  I32 r;
  r.p = a.Data();
  r.n = int64_t(a.ElementLength());
  if (r.p == nullptr) r.n = 0;
  return r;
}

double Args::number(size_t i, const char* name) const {
  Napi::Value v = info[i];
  if (!v.IsNumber()) type(std::string(name) + " must be a number, got " + describe(v));
  return v.As<Napi::Number>().DoubleValue();
}

int64_t Args::size(size_t i, const char* name) const {
  Napi::Value v = info[i];
  if (!v.IsNumber()) type(std::string(name) + " must be a non-negative integer, got " + describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > 2147483647.0) {
    range(std::string(name) + " must be a non-negative integer <= 2147483647, got " + num_str(d));
  }
  return int64_t(d);
}

int64_t Args::integer(size_t i, const char* name) const {
  Napi::Value v = info[i];
  if (!v.IsNumber()) type(std::string(name) + " must be an integer, got " + describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d > 2147483647.0 || d < -2147483648.0) {
    range(std::string(name) + " must be a 32-bit integer, got " + num_str(d));
  }
  return int64_t(d);
}

bool Args::boolean(size_t i, const char* name) const {
  Napi::Value v = info[i];
  if (!v.IsBoolean()) type(std::string(name) + " must be a boolean, got " + describe(v));
  return v.As<Napi::Boolean>().Value();
}

int64_t Args::enumeration(size_t i, const char* name, int64_t lo, int64_t hi) const {
  Napi::Value v = info[i];
  if (!v.IsNumber()) type(std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= double(lo) && d <= double(hi)) || d != std::floor(d)) {
    range(std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + num_str(d));
  }
  return int64_t(d);
}

void Args::need(const char* name, int64_t have, int64_t needed, const std::string& why) const {
  if (have < needed) {
    range(std::string(name) + " has " + std::to_string(have) + " elements but " + why + " needs at least " +
          std::to_string(needed));
  }
}

int64_t checked_mul(const Args& a, int64_t x, int64_t y) {
  const int64_t lim = int64_t(1) << 53;
  if (x != 0 && y != 0 && (x > lim / y)) a.range("size product " + std::to_string(x) + " * " + std::to_string(y) + " is too large");
  return x * y;
}

int64_t shape_numel(const Args& a, const I32& shape, const char* name) {
  if (shape.n > 8) a.range(std::string(name) + " has " + std::to_string(shape.n) + " dimensions; at most 8 are supported");
  int64_t n = 1;
  for (int64_t d = 0; d < shape.n; ++d) {
    if (shape.p[d] < 0) a.range(std::string(name) + "[" + std::to_string(d) + "] must be non-negative, got " + std::to_string(shape.p[d]));
    n = checked_mul(a, n, shape.p[d]);
  }
  return n;
}

void stride_extent(const I32& shape, const I32& strides, int64_t* minOff, int64_t* maxOff) {
  int64_t lo = 0, hi = 0;
  for (int64_t d = 0; d < shape.n; ++d) {
    int64_t span = int64_t(shape.p[d] - 1) * int64_t(strides.p[d]);
    if (span > 0) hi += span; else lo += span;
  }
  *minOff = lo;
  *maxOff = hi;
}

}  // namespace imp
