// Libraries only some subcommands need (libpcap for dump, libsystemd for the servers), loaded on
// first use instead of at every start-up (libcrypto was too, until TLS linked libssl directly:
// sockit::tls, issue #16): each was
// linked in and loaded whatever the subcommand, and libpcap alone drags in libdbus, libsystemd,
// libgcrypt, liblz4, liblzma, libzstd and libcap; the loader's page faults for them cost more than
// `sockit ss -tan`'s own work on a few thousand sockets (docs/SS.md, Cost).
//
// The binary defines those libraries' functions itself (lazy_*.cpp, same names and signatures,
// checked against the libraries' own headers); each forwards to the real function, looked up in
// the library by dlopen/dlsym on its first call. The call sites stay as they are, and with
// --as-needed (apps/CMakeLists.txt) the libraries drop out of the binary's DT_NEEDED.
#pragma once

namespace sockit::lazy {

// `symbol` in the library `soname` (opened on first use), or nullptr if either is missing.
void* find(const char* soname, const char* symbol) noexcept;

// The same for a library the caller cannot work without: if it is missing, prints
// "sockit: cannot load ..." and exits with status 1 (a broken installation, not a crash).
void* require(const char* soname, const char* symbol) noexcept;

}  // namespace sockit::lazy

// Body of a forwarding function `name`: the real one, resolved once (thread-safe static).
#define SOCKIT_LAZY_FORWARD(soname, name, ...)                                                          \
  static const auto real = reinterpret_cast<decltype(&::name)>(::sockit::lazy::require(soname, #name)); \
  return real(__VA_ARGS__)
