// Internal header of the sockit binary: signals taken by an EventLoop's signalfd for a scope.
//
//   BlockedSignals blocked(kSignals);  // before EventLoop::watch_signals(kSignals, ...)
//
// Blocks `signals` in the calling thread; on destruction drops those still pending (a Ctrl-C that
// came after the loop stopped must not kill the process on its way out with a default action)
// and restores the previous mask. A failed block leaves the mask alone (ok() is false).
#pragma once

#include "sockit/loop/event_loop.hpp"

#include <pthread.h>
#include <signal.h>

#include <span>
#include <vector>

namespace sockit::cli {

class BlockedSignals {
 public:
  explicit BlockedSignals(std::span<const int> signals) : signals_(signals.begin(), signals.end()) {
    ok_ = static_cast<bool>(loop::block_signals(signals, &old_));
  }
  ~BlockedSignals() {
    if (!ok_) return;
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals_) sigaddset(&set, s);
    const timespec zero{};
    while (::sigtimedwait(&set, nullptr, &zero) > 0) {
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  bool ok() const noexcept { return ok_; }

 private:
  std::vector<int> signals_;
  sigset_t old_{};
  bool ok_ = false;
};

}  // namespace sockit::cli
