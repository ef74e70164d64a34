# Warning flags for every sockit target (sockit_warnings is an interface target, never installed).
add_library(sockit_warnings INTERFACE)
target_compile_options(sockit_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wnull-dereference)
if(SOCKIT_WERROR)
  target_compile_options(sockit_warnings INTERFACE -Werror
    # g++ 12 at -O1 with sanitizers reports maybe-uninitialized inside libstdc++ (<regex>,
    # std::function moves): false positives in system headers, kept visible but not fatal.
    $<$<CXX_COMPILER_ID:GNU>:-Wno-error=maybe-uninitialized>)
endif()
