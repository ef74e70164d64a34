# SOCKIT_SANITIZE=address,undefined  or  thread. Applied to everything built in this tree.
if(SOCKIT_SANITIZE)
  set(_san "-fsanitize=${SOCKIT_SANITIZE}" -fno-omit-frame-pointer)
  if(SOCKIT_SANITIZE MATCHES "undefined")
    list(APPEND _san -fno-sanitize-recover=undefined)
  endif()
  add_compile_options(${_san})
  add_link_options(${_san})
endif()
