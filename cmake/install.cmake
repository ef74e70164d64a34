# Install the library with exported targets (find_package(sockit) -> sockit::net ...) and sockit.pc
# (component "dev"; the sockit binary has none: see cmake/package.cmake).
include(CMakePackageConfigHelpers)
set(SOCKIT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/sockit)

# Every layer's headers, store, ws and cluster included: their public headers include only other
# sockit headers and the standard library; SQLite, argon2, wslay and hiredis stay private (in
# src/, behind each class's Impl), and sockitConfig.cmake finds them again for the static link.
install(DIRECTORY include/sockit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
install(EXPORT sockitTargets NAMESPACE sockit:: DESTINATION ${SOCKIT_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(cmake/sockitConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/sockitConfig.cmake INSTALL_DESTINATION ${SOCKIT_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/sockitConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/sockitConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/sockitConfigVersion.cmake
        DESTINATION ${SOCKIT_CMAKE_DIR} COMPONENT dev)

get_property(SOCKIT_PC_LIBS GLOBAL PROPERTY SOCKIT_PC_LIBS)
list(REVERSE SOCKIT_PC_LIBS)
list(JOIN SOCKIT_PC_LIBS " " SOCKIT_PC_LIBS)
# sockit::loop links liburing privately when it was found (src/loop): a static link needs it too.
find_package(PkgConfig REQUIRED)
pkg_check_modules(SOCKIT_PC_LIBURING QUIET liburing)
set(SOCKIT_PC_URING "")
if(SOCKIT_PC_LIBURING_FOUND)
  set(SOCKIT_PC_URING " -luring")
endif()
configure_file(cmake/sockit.pc.in ${CMAKE_CURRENT_BINARY_DIR}/sockit.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/sockit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# The binary's man pages, completions, units and configuration, and the Debian packages.
include(cmake/package.cmake)
