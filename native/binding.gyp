{
  "targets": [
    {
      "target_name": "imprint_native",
      "sources": [
        "src/addon.cc",
        "src/threadpool.cc",
        "src/validate.cc",
        "src/gemm.cc",
        "src/gemv.cc",
        "src/gemm_blas.cc",
        "src/gemm_bundled.cc",
        "src/gemm_napi.cc",
        "src/elementwise.cc",
        "src/activations.cc",
        "src/norms.cc",
        "src/rope.cc",
        "src/attention.cc",
        "src/softmax.cc",
        "src/losses.cc",
        "src/topk.cc",
        "src/embedding.cc",
        "src/optimizers.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node detect-blas.mjs include_dirs)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        # A worker thread terminated mid-call makes every N-API call fail; without this,
        # node-addon-api's rethrow of that failure reaches std::terminate and aborts the process.
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "<!@(node detect-blas.mjs defines)"
      ],
      "libraries": [
        "<!@(node detect-blas.mjs libraries)"
      ],
      "cflags!": [ "-fno-exceptions" ],
      "cflags_cc!": [ "-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20" ],
      "cflags": [ "-O3", "-fno-fast-math", "-fno-math-errno", "-fno-strict-aliasing" ],
      "cflags_cc": [ "-std=c++17", "-fexceptions", "-O3" ],
      "conditions": [
        [ "target_arch=='x64'", {
          "cflags": [ "-march=native" ],
          "xcode_settings": { "OTHER_CFLAGS": [ "-march=native" ] }
        } ],
        [ "OS=='linux'", {
          # Never unloaded: the GEMM thread pool is process-wide, so a worker thread that loaded
          # the addon and exited must not dlclose the code those threads run.
          "ldflags": [ "-Wl,-z,nodelete" ]
        } ],
        [ "OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "GCC_OPTIMIZATION_LEVEL": "3",
            "MACOSX_DEPLOYMENT_TARGET": "11.0"
          }
        } ],
        [ "OS=='win'", {
          "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": [ "/arch:AVX2", "/O2" ] } }
        } ]
      ]
    }
  ]
}
