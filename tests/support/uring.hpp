// Test helper: skips a case that asks for io_uring (Backend::uring, Model::uring) where this kernel
// refuses it (too old, sysctl kernel.io_uring_disabled, seccomp) or the build lacks liburing: there
// the backend falls back to epoll, which the epoll cases already cover.
#pragma once

#include "sockit/loop/poller.hpp"

#include <gtest/gtest.h>

#define SOCKIT_SKIP_WITHOUT_URING(wants_uring)                                                                 \
  do {                                                                                                         \
    if (wants_uring) {                                                                                         \
      if (auto uring_ok_ = sockit::loop::uring_available(); !uring_ok_) {                                      \
        GTEST_SKIP() << "io_uring unavailable here (" << uring_ok_.error().message() << "); uring runs as epoll"; \
      }                                                                                                        \
    }                                                                                                          \
  } while (false)
