#include "sockit/net/fd.hpp"

#include <unistd.h>

namespace sockit {

void Fd::reset(int fd) noexcept {
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

}  // namespace sockit
