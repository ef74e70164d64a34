// Buffer and OutputQueue.
#include "sockit/loop/buffer.hpp"
#include "io.hpp"
#include "sockit/net/sys.hpp"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

#include <sys/socket.h>
#include <sys/uio.h>

namespace sockit::loop {

void Buffer::retrieve(std::size_t n) noexcept {
  if (n >= readable_bytes()) {
    retrieve_all();
  } else {
    reader_ += n;
  }
}

std::string Buffer::retrieve_as_string(std::size_t n) {
  n = std::min(n, readable_bytes());
  std::string s(peek(), n);
  retrieve(n);
  return s;
}

void Buffer::append(const void* data, std::size_t n) {
  if (n == 0) return;
  ensure_writable(n);
  std::memcpy(begin_write(), data, n);
  has_written(n);
}

void Buffer::prepend(const void* data, std::size_t n) {
  if (n > prependable_bytes()) {
    // Not enough room in front: move the readable bytes back by n.
    std::size_t readable = readable_bytes();
    ensure_writable(n);
    std::memmove(data_.get() + reader_ + n, peek(), readable);
    writer_ += n;
    std::memcpy(data_.get() + reader_, data, n);
    return;
  }
  reader_ -= n;
  std::memcpy(data_.get() + reader_, data, n);
}

void Buffer::ensure_writable(std::size_t n) {
  if (writable_bytes() >= n) return;
  std::size_t readable = readable_bytes();
  if (data_ && writable_bytes() + prependable_bytes() >= n + kCheapPrepend) {
    std::memmove(data_.get() + kCheapPrepend, peek(), readable);
    reader_ = kCheapPrepend;
    writer_ = reader_ + readable;
    return;
  }
  std::size_t want = kCheapPrepend + readable + n;
  std::size_t cap = std::max(size_ * 2, kInitialSize);
  while (cap < want) cap *= 2;
  auto fresh = std::make_unique<char[]>(cap);
  if (readable > 0) std::memcpy(fresh.get() + kCheapPrepend, peek(), readable);
  data_ = std::move(fresh);
  size_ = cap;
  reader_ = kCheapPrepend;
  writer_ = reader_ + readable;
}

const char* Buffer::find_crlf() const noexcept {
  std::string_view v = view();
  auto pos = v.find("\r\n");
  return pos == std::string_view::npos ? nullptr : v.data() + pos;
}

const char* Buffer::find_eol() const noexcept {
  std::string_view v = view();
  auto pos = v.find('\n');
  return pos == std::string_view::npos ? nullptr : v.data() + pos;
}

Result<std::size_t> Buffer::read_fd(int fd) {
  char spill[kSpillSize];
  iovec iov[2];
  std::size_t writable = writable_bytes();
  int n_iov = 0;
  if (writable > 0) {
    iov[n_iov].iov_base = begin_write();
    iov[n_iov].iov_len = writable;
    ++n_iov;
  }
  iov[n_iov].iov_base = spill;
  iov[n_iov].iov_len = sizeof spill;
  ++n_iov;
  ssize_t n;
  do {
    n = sys::readv(fd, iov, n_iov);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Error(sys_error(errno), "readv");
  auto got = static_cast<std::size_t>(n);
  if (got <= writable) {
    has_written(got);
  } else {
    has_written(writable);
    append(spill, got - writable);
  }
  return got;
}

void Buffer::release() noexcept {
  if (readable_bytes() != 0) return;
  data_.reset();
  size_ = 0;
  reader_ = writer_ = kCheapPrepend;
}

// ---------------------------------------------------------------------------------------------

OutputQueue::Chunk& OutputQueue::new_own_chunk() {
  Chunk& c = chunks_.emplace_back();
  c.own.swap(spare_);  // a written chunk's buffer, when one is kept
  return c;
}

void OutputQueue::append(std::string_view s) {
  if (s.empty()) return;
  if (chunks_.size() > head_ && !chunks_.back().shared && chunks_.back().own.size() < kMergeLimit) {
    chunks_.back().own.append(s);
  } else {
    new_own_chunk().own.append(s);
  }
  bytes_ += s.size();
}

void OutputQueue::append(std::string&& s) {
  if (s.empty()) return;
  bytes_ += s.size();
  if (chunks_.size() > head_ && !chunks_.back().shared && chunks_.back().own.size() + s.size() <= kMergeLimit) {
    chunks_.back().own.append(s);
  } else {
    chunks_.emplace_back().own = std::move(s);
  }
}

void OutputQueue::append(SharedBytes owner, std::string_view part) {
  if (!owner || part.empty()) return;
  if (part.size() < kShareMin) {
    append(part);
    return;
  }
  bytes_ += part.size();
  Chunk& c = chunks_.emplace_back();
  c.shared = std::move(owner);
  c.part = part;
}

void OutputQueue::retire(Chunk& c) noexcept {
  if (c.shared) {
    c.shared.reset();
    c.part = {};
  } else if (c.own.capacity() <= kMergeLimit && c.own.capacity() > spare_.capacity()) {
    c.own.clear();
    spare_.swap(c.own);
  }
  std::string().swap(c.own);
}

void OutputQueue::consume(std::size_t n) noexcept {
  n = std::min(n, bytes_);
  bytes_ -= n;
  while (n > 0) {
    Chunk& front = chunks_[head_];
    std::size_t left = front.view().size() - offset_;
    if (n < left) {
      offset_ += n;
      return;
    }
    n -= left;
    retire(front);
    ++head_;
    offset_ = 0;
  }
  if (bytes_ == 0) {
    chunks_.clear();  // keeps the list's storage: the next burst needs no allocation
    head_ = offset_ = 0;
  } else if (head_ >= 32 && head_ * 2 >= chunks_.size()) {
    chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void OutputQueue::drop() noexcept {
  for (std::size_t i = head_; i < chunks_.size(); ++i) retire(chunks_[i]);
  chunks_.clear();
  head_ = offset_ = bytes_ = 0;
  if (spare_.capacity() > kKeepSpare) std::string().swap(spare_);
  if (chunks_.capacity() > kKeepChunks) std::vector<Chunk>().swap(chunks_);
}

void OutputQueue::clear() noexcept {
  std::vector<Chunk>().swap(chunks_);
  std::string().swap(spare_);
  head_ = offset_ = bytes_ = 0;
}

std::size_t OutputQueue::storage_bytes() const noexcept {
  std::size_t n = chunks_.capacity() * sizeof(Chunk) + (spare_.capacity() > 15 ? spare_.capacity() : 0);
  for (std::size_t i = head_; i < chunks_.size(); ++i) {
    if (!chunks_[i].shared && chunks_[i].own.capacity() > 15) n += chunks_[i].own.capacity();
  }
  return n;
}

std::string OutputQueue::to_string() const {
  std::string out;
  out.reserve(bytes_);
  for (std::size_t i = head_; i < chunks_.size(); ++i) {
    out.append(chunks_[i].view().substr(i == head_ ? offset_ : 0));
  }
  return out;
}

std::size_t OutputQueue::copy_front(std::byte* dst, std::size_t max) const noexcept {
  std::size_t done = 0;
  for (std::size_t i = head_; i < chunks_.size() && done < max; ++i) {
    std::string_view v = chunks_[i].view().substr(i == head_ ? offset_ : 0);
    std::size_t n = std::min(v.size(), max - done);
    std::memcpy(dst + done, v.data(), n);
    done += n;
  }
  return done;
}

Result<std::size_t> OutputQueue::write_to(int fd, Transport* transport) {
  const bool short_means_full = io::drains_on_short_io(transport);
  std::size_t total = 0;
  while (bytes_ > 0) {
    iovec iov[kMaxIov];
    int n_iov = 0;
    std::size_t offered = 0;
    for (std::size_t i = head_; i < chunks_.size() && n_iov < kMaxIov; ++i, ++n_iov) {
      std::string_view v = chunks_[i].view().substr(i == head_ ? offset_ : 0);
      iov[n_iov].iov_base = const_cast<char*>(v.data());  // sendmsg does not write through it
      iov[n_iov].iov_len = v.size();
      offered += v.size();
    }
    ssize_t n = io::writev(transport, fd, iov, n_iov);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || total > 0) break;
      return Error(sys_error(errno), "sendmsg");
    }
    consume(static_cast<std::size_t>(n));
    total += static_cast<std::size_t>(n);
    // A short write means the socket buffer is full: its writability edge will come. A full
    // one with chunks left (more than kMaxIov) goes on now: no edge would report it.
    if (static_cast<std::size_t>(n) < offered && short_means_full) break;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------

std::unique_ptr<OutputQueue> OutputQueuePool::take() {
  if (free_.empty()) return std::make_unique<OutputQueue>();
  std::unique_ptr<OutputQueue> q = std::move(free_.back());
  free_.pop_back();
  kept_bytes_ -= std::min(kept_bytes_, q->storage_bytes());
  return q;
}

void OutputQueuePool::give(std::unique_ptr<OutputQueue> q) noexcept {
  if (!q) return;
  q->drop();
  std::size_t bytes = q->storage_bytes();
  if (free_.size() >= kMaxKept || kept_bytes_ + bytes > kMaxKeptBytes) return;  // freed here
  kept_bytes_ += bytes;
  try {
    free_.push_back(std::move(q));
  } catch (...) {
    kept_bytes_ -= bytes;  // out of memory for the list: the queue is freed instead
  }
}

}  // namespace sockit::loop
