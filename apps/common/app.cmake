# apps/common: the servers' logging layer (log.cpp: journald) and systemd integration (systemd.cpp:
# sd_notify, socket activation) use Debian's libsystemd (libsystemd-dev).
pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
target_link_libraries(sockit PRIVATE PkgConfig::LIBSYSTEMD)
