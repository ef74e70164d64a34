# Man pages, shell completions, systemd units, the example configuration and the Debian packages.
#
# Components: "runtime" (with the sockit binary, which has no component: "Unspecified") makes the
# `sockit` package; "dev" (static libraries, headers, CMake package, pkg-config) makes
# `libsockit-dev`. `cmake --install` installs both; `cpack -G DEB` in a build tree makes the .debs.
# See docs/OPERATIONS.md, "Install".

# ---- man pages and completions, generated at build time from the built binary ----------------
set(SOCKIT_GEN_DIR ${PROJECT_BINARY_DIR}/share)
if(NOT CMAKE_CROSSCOMPILING)
  add_custom_command(
    OUTPUT ${SOCKIT_GEN_DIR}/stamp
    COMMAND ${CMAKE_COMMAND} -DSOCKIT=$<TARGET_FILE:sockit> -DOUT=${SOCKIT_GEN_DIR}
            -DCHANGELOG=${PROJECT_SOURCE_DIR}/dist/debian/changelog -P ${PROJECT_SOURCE_DIR}/cmake/gen_docs.cmake
    DEPENDS sockit ${PROJECT_SOURCE_DIR}/cmake/gen_docs.cmake ${PROJECT_SOURCE_DIR}/dist/debian/changelog
    COMMENT "Man pages and shell completions from sockit's own option tree")
  add_custom_target(sockit_docs ALL DEPENDS ${SOCKIT_GEN_DIR}/stamp)

  install(DIRECTORY ${SOCKIT_GEN_DIR}/install/man1 DESTINATION ${CMAKE_INSTALL_MANDIR}
          COMPONENT runtime FILES_MATCHING PATTERN "*.1.gz")
  install(FILES ${SOCKIT_GEN_DIR}/install/sockit.bash RENAME sockit
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions COMPONENT runtime)
  install(FILES ${SOCKIT_GEN_DIR}/install/_sockit
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/zsh/vendor-completions COMPONENT runtime)
endif()

# ---- systemd units (dist/systemd/) and /etc/sockit ---------------------------------------------
file(GLOB SOCKIT_UNITS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/dist/systemd/*.service
     ${PROJECT_SOURCE_DIR}/dist/systemd/*.socket)
if(SOCKIT_UNITS)
  install(FILES ${SOCKIT_UNITS} DESTINATION lib/systemd/system COMPONENT runtime)
endif()
# The example configuration goes to /etc/sockit when the prefix is /usr (the package), else to
# PREFIX/etc/sockit, so `cmake --install --prefix /tmp/x` never writes to the real /etc.
install(CODE "
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(_sockit_etc \"/etc/sockit\")
  else()
    set(_sockit_etc \"\${CMAKE_INSTALL_PREFIX}/etc/sockit\")
  endif()
  file(INSTALL \"${PROJECT_SOURCE_DIR}/examples/chat.toml\" DESTINATION \"\${_sockit_etc}\"
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
" COMPONENT runtime)

# ---- /usr/share/doc/PACKAGE: copyright and changelog -------------------------------------------
set(_changelog_gz ${SOCKIT_GEN_DIR}/install/changelog.gz)  # gen_docs.cmake compresses it
foreach(pkg_comp IN ITEMS "sockit;runtime" "libsockit-dev;dev")
  list(GET pkg_comp 0 pkg)
  list(GET pkg_comp 1 comp)
  install(FILES ${PROJECT_SOURCE_DIR}/dist/debian/copyright ${_changelog_gz}
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${pkg} COMPONENT ${comp})
endforeach()

# ---- CPack: DEB packages sockit and libsockit-dev --------------------------------------------
set(CPACK_PACKAGE_NAME sockit)
set(CPACK_PACKAGE_VENDOR "sockit")
set(CPACK_PACKAGE_CONTACT "sockit maintainers <maintainers@users.noreply.b-seed-206bf503.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)  # /etc/sockit is absolute inside the package
set(CPACK_INSTALL_PREFIX /usr)  # with DESTDIR, the prefix the package installs to
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ONE_PER_GROUP)
set(CPACK_COMPONENTS_ALL Unspecified runtime dev)
set(CPACK_COMPONENT_UNSPECIFIED_GROUP runtime)
set(CPACK_COMPONENT_RUNTIME_GROUP runtime)
set(CPACK_COMPONENT_DEV_GROUP dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME sockit)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
# libpcap and libsystemd are dlopen()ed on first use (apps/common/lazy_lib.hpp), so
# dpkg-shlibdeps does not see them: the versions are what it gave when they were linked.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "adduser, libpcap0.8 (>= 1.5.1), libssl3 (>= 3.0.0), libsystemd0")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/dist/debian/postinst;${PROJECT_SOURCE_DIR}/dist/debian/postrm;${PROJECT_SOURCE_DIR}/dist/debian/conffiles")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
    "socket toolkit: servers, clients and debugging tools in one binary
 sockit SUBCOMMAND: an echo server with every classic concurrency model, an IRC
 server and client, netcat, a load generator, ss and tcpdump work-alikes, ping
 and a fault-injecting proxy. With manual pages, bash and zsh completions,
 systemd units and an example configuration in /etc/sockit.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libsockit-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libssl-dev, libsqlite3-dev, libargon2-dev, libhiredis-dev, libwslay-dev")
set(CPACK_DEBIAN_DEV_DESCRIPTION
    "socket toolkit library: development files
 sockit::net makes the BSD socket API safe (deadlines on every blocking
 call, Result<T> over std::error_code, no SIGPIPE, IPv4/IPv6/Unix); further
 layers add an event loop, the server models and the IRC core. Static
 libraries, headers, a CMake package (find_package(sockit)) and a pkg-config
 file.")

include(CPack)
