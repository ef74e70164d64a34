// dlopen on first use of an optional library's function (lazy_lib.hpp).
#include "common/lazy_lib.hpp"

#include <cstdio>
#include <cstdlib>

#include <dlfcn.h>

namespace sockit::lazy {
namespace {

void* lookup(const char* soname, const char* symbol, const char** error) noexcept {
  // dlopen counts references: a second open of the same library returns the same handle.
  void* lib = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    *error = ::dlerror();
    return nullptr;
  }
  void* fn = ::dlsym(lib, symbol);
  if (fn == nullptr) *error = ::dlerror();
  return fn;
}

}  // namespace

void* find(const char* soname, const char* symbol) noexcept {
  const char* error = nullptr;
  return lookup(soname, symbol, &error);
}

void* require(const char* soname, const char* symbol) noexcept {
  const char* error = nullptr;
  void* fn = lookup(soname, symbol, &error);
  if (fn == nullptr) {
    std::fprintf(stderr, "sockit: cannot load %s from %s: %s\n", symbol, soname, error != nullptr ? error : "not found");
    std::exit(1);
  }
  return fn;
}

}  // namespace sockit::lazy
