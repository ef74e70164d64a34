// Fuzz target: the chat server's TOML configuration loader (apps/chat_server/config_file.cpp, over
// tomlplusplus) never crashes, hangs or throws on any bytes, and keeps its promises:
//  - it answers true, or false with one non-empty line of error;
//  - what it accepts, format_config prints as TOML that load_config reads back to the same
//    effective configuration (printed again: the same text), as `--check-config` promises.
// The input is written to a file (the loader reads a path: its errors name file:line:col and
// relative paths are resolved beside it) in a directory of its own, made once per process.
#include "chat_server/config_file.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {

const std::string& scratch_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/sockit-config-fuzz-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    return std::string(tmpl);
  }();
  return dir;
}

bool write_file(const std::string& path, const char* data, std::size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  bool ok = std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sockit::chat_server;
  const std::string path = scratch_dir() + "/chat.toml";
  if (!write_file(path, reinterpret_cast<const char*>(data), size)) std::abort();
  Loaded first;
  std::string error;
  if (!load_config(path, Overrides{}, first, error)) {
    if (error.empty() || error.find('\n') != std::string::npos) {  // one line, always
      std::fprintf(stderr, "refused without one line of error: \"%s\"\n", error.c_str());
      std::abort();
    }
    return 0;
  }
  std::string text;
  if (!format_config(first, first.listen, text, error)) {  // its key lists disagree with the loader's
    std::fprintf(stderr, "format_config refused an accepted config: %s\n", error.c_str());
    std::abort();
  }
  const std::string again = scratch_dir() + "/effective.toml";
  if (!write_file(again, text.data(), text.size())) std::abort();
  Loaded second;
  if (!load_config(again, Overrides{}, second, error)) {
    std::fprintf(stderr, "accepted config printed as TOML the loader refuses: %s\n%s\n", error.c_str(), text.c_str());
    std::abort();
  }
  std::string text2;
  if (!format_config(second, second.listen, text2, error) || text2 != text) {
    std::fprintf(stderr, "round trip changed the configuration:\n%s\n---\n%s\n", text.c_str(), text2.c_str());
    std::abort();
  }
  return 0;
}
