# Build step (cmake -P): turns the web page's files (web/*.html, *.js, *.css) into a C++ source of
# byte arrays, so that the WebSocket listener serves them from the binary (ws::web_files(),
# docs/WEB.md). Inputs: -DOUT=<the .cpp to write> -DFILES=<the files, |-separated>. Each file is
# served as /<its name>; its ETag is the start of its SHA-256. No dependency beyond CMake.
set(body "// Generated from web/ by src/ws/embed_web.cmake at build time: do not edit.\n")
string(APPEND body "#include \"sockit/ws/handshake.hpp\"\n\n#include <array>\n\nnamespace sockit::ws {\n\nnamespace {\n\n")
set(table "")
string(REPLACE "|" ";" FILES "${FILES}")
set(i 0)
foreach(file IN LISTS FILES)
  get_filename_component(name ${file} NAME)
  file(READ ${file} hex HEX)
  file(SHA256 ${file} sum)
  string(SUBSTRING ${sum} 0 20 etag)
  string(LENGTH "${hex}" hexlen)
  math(EXPR size "${hexlen} / 2")
  # 40 bytes per line, each byte as \xNN inside adjacent string literals.
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" esc "${hex}")
  string(REGEX REPLACE "((\\\\x[0-9a-f][0-9a-f]){40})" "\\1\"\n    \"" esc "${esc}")
  string(APPEND body "constexpr char kFile${i}[] =\n    \"${esc}\";\n\n")
  string(APPEND table "    StaticFile{\"/${name}\", std::string_view(kFile${i}, ${size}), \"\\\"${etag}\\\"\"},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND body "constexpr std::array<StaticFile, ${i}> kFiles{\n${table}};\n\n}  // namespace\n\n")
string(APPEND body "std::span<const StaticFile> web_files() noexcept { return kFiles; }\n\n}  // namespace sockit::ws\n")
# Written only when it changed, so that an unchanged page does not rebuild the library.
if(EXISTS ${OUT})
  file(READ ${OUT} old)
  if(old STREQUAL body)
    return()
  endif()
endif()
file(WRITE ${OUT} "${body}")
