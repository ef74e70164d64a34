// Public header. Buffer (input side) and OutputQueue (output side) of a connection.
//
// Buffer is muduo's layout: one contiguous block with a cheap prepend area.
//
//   | prependable bytes |  readable bytes  |  writable bytes  |
//   0      <=       reader_       <=     writer_      <=   capacity
//
// read_fd() reads with readv() into the writable tail *and* a 64 KiB stack spill buffer, so one
// system call drains a socket without first growing the buffer to a guess (muduo Buffer::readFd).
// A new or released Buffer holds no heap memory: an idle connection costs no buffer.
//
// OutputQueue is a chain of chunks written with one sendmsg() (a writev that passes MSG_NOSIGNAL)
// of up to 64 chunks (send() for one), so queued messages are never compacted or copied byte by
// byte again. A chunk is its own bytes or a reference into bytes shared with other queues
// (SharedBytes: a broadcast serialized once); OutputQueuePool recycles drained queues.
//
// Thread affinity: none (plain values); a connection uses them from its loop thread only.
#pragma once

#include "sockit/net/result.hpp"

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::loop {

class Transport;

class Buffer {
 public:
  static constexpr std::size_t kCheapPrepend = 8;
  static constexpr std::size_t kInitialSize = 1024;
  static constexpr std::size_t kSpillSize = 65536;

  Buffer() = default;
  Buffer(Buffer&&) noexcept = default;
  Buffer& operator=(Buffer&&) noexcept = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  std::size_t readable_bytes() const noexcept { return writer_ - reader_; }
  std::size_t writable_bytes() const noexcept { return size_ > writer_ ? size_ - writer_ : 0; }
  std::size_t prependable_bytes() const noexcept { return reader_; }
  std::size_t capacity() const noexcept { return size_; }
  bool empty() const noexcept { return readable_bytes() == 0; }

  /// The readable bytes (valid until the next non-const call).
  const char* peek() const noexcept { return data_.get() + reader_; }
  std::string_view view() const noexcept { return {data_ ? peek() : "", readable_bytes()}; }
  std::span<const std::byte> bytes() const noexcept {
    return {reinterpret_cast<const std::byte*>(view().data()), readable_bytes()};
  }

  /// Consumes `n` readable bytes (all of them when n >= readable_bytes()).
  void retrieve(std::size_t n) noexcept;
  void retrieve_all() noexcept { reader_ = writer_ = kCheapPrepend; }
  std::string retrieve_as_string(std::size_t n);

  void append(std::string_view s) { append(s.data(), s.size()); }
  void append(const void* data, std::size_t n);
  /// Puts bytes in front of the readable area (a length header, say). Requires
  /// n <= prependable_bytes(); otherwise the bytes are moved to make room.
  void prepend(const void* data, std::size_t n);

  /// Makes room for `n` more bytes, first by moving the readable bytes to the front.
  void ensure_writable(std::size_t n);
  char* begin_write() noexcept { return data_.get() + writer_; }
  void has_written(std::size_t n) noexcept { writer_ += n; }

  /// First CRLF in the readable bytes, or nullptr.
  const char* find_crlf() const noexcept;
  /// First '\n' in the readable bytes, or nullptr.
  const char* find_eol() const noexcept;

  /// One readv() from `fd` into the writable tail and a 64 KiB stack spill; what lands in the
  /// spill is appended. Returns the bytes read, 0 at end of stream, EAGAIN as an error.
  Result<std::size_t> read_fd(int fd);

  /// Frees the storage when nothing is readable (an idle connection then holds no memory).
  void release() noexcept;

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t reader_ = kCheapPrepend;
  std::size_t writer_ = kCheapPrepend;
};

/// Bytes serialized once and queued for many connections (one channel line for every member):
/// each queue keeps a reference, not a copy. Never modified once shared.
using SharedBytes = std::shared_ptr<const std::string>;

class OutputQueue {
 public:
  /// Appends are merged into the last chunk while it is smaller than this.
  static constexpr std::size_t kMergeLimit = 16 * 1024;
  /// At most this many chunks go into one sendmsg().
  static constexpr int kMaxIov = 64;
  /// Shared bytes shorter than this are copied into the queue's own last chunk instead of
  /// referenced: a short copy costs less than an iovec of its own and a reference count.
  static constexpr std::size_t kShareMin = 128;

  OutputQueue() = default;
  OutputQueue(OutputQueue&&) noexcept = default;
  OutputQueue& operator=(OutputQueue&&) noexcept = default;
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;

  std::size_t size() const noexcept { return bytes_; }
  bool empty() const noexcept { return bytes_ == 0; }
  std::size_t chunks() const noexcept { return chunks_.size() - head_; }

  /// Copies `s` onto the end (merged into the last chunk when it is small).
  void append(std::string_view s);
  /// Takes `s` as a chunk of its own, without copying.
  void append(std::string&& s);
  /// Queues a reference to `part`, which lies inside `*owner` (copied instead when shorter than
  /// kShareMin).
  void append(SharedBytes owner, std::string_view part);
  void append(SharedBytes owner) {
    std::string_view all = owner ? std::string_view(*owner) : std::string_view();
    append(std::move(owner), all);
  }

  /// Up to kMaxIov chunks at a time through `transport`'s writev (null: the plain socket,
  /// sendmsg(MSG_NOSIGNAL|MSG_DONTWAIT), send() for one chunk, writev() for descriptors that
  /// are not sockets), repeated while the kernel takes all it is offered (with a transport that
  /// cuts writes on its own, until EAGAIN).
  /// Returns bytes written (0 when the kernel buffer is full: EAGAIN is not an error) and frees
  /// the chunks written. An error after some bytes went out is reported by the next call.
  Result<std::size_t> write_to(int fd, Transport* transport = nullptr);
  /// Drops `n` bytes from the front.
  void consume(std::size_t n) noexcept;
  /// Drops the queued bytes but keeps a small buffer (at most kKeepSpare) and the chunk list's
  /// storage (at most kKeepChunks entries) for reuse (see OutputQueuePool).
  void drop() noexcept;
  static constexpr std::size_t kKeepSpare = 4096;
  static constexpr std::size_t kKeepChunks = 64;
  /// Drops everything and frees all storage.
  void clear() noexcept;
  /// Heap bytes this queue holds (queued or kept for reuse).
  std::size_t storage_bytes() const noexcept;
  /// The bytes in order, copied (for tests and blocking drivers).
  std::string to_string() const;
  /// Copies up to `max` bytes from the front into `dst` (nothing is consumed); returns how many.
  std::size_t copy_front(std::byte* dst, std::size_t max) const noexcept;
  /// Hints the CPU to fetch the front of the chunk list (what write_to() reads first).
  void prefetch() const noexcept {
    if (head_ < chunks_.size()) __builtin_prefetch(chunks_.data() + head_);
  }

 private:
  struct Chunk {
    std::string own;        // the bytes, unless `shared` is set
    SharedBytes shared;     // keeps `part` alive: bytes queued for several connections
    std::string_view part;  // the bytes, when shared
    std::string_view view() const noexcept { return shared ? part : std::string_view(own); }
  };
  Chunk& new_own_chunk();
  void retire(Chunk& c) noexcept;

  std::vector<Chunk> chunks_;
  std::string spare_;       // a written chunk's buffer, kept for the next one (at most kMergeLimit)
  std::size_t head_ = 0;    // first live chunk
  std::size_t offset_ = 0;  // bytes already written from chunks_[head_]
  std::size_t bytes_ = 0;
};

/// Drained OutputQueues kept with their storage, so a connection that writes every loop turn (a
/// chat receiver under fan-out) allocates nothing in steady state, while an idle connection
/// still holds no queue. One per EventLoop, loop thread only. Bounded: at most kMaxKept queues
/// and kMaxKeptBytes of their storage; a queue past either bound is freed instead.
class OutputQueuePool {
 public:
  static constexpr std::size_t kMaxKept = 8192;
  static constexpr std::size_t kMaxKeptBytes = 8u << 20;

  OutputQueuePool() = default;
  OutputQueuePool(const OutputQueuePool&) = delete;
  OutputQueuePool& operator=(const OutputQueuePool&) = delete;

  /// An empty queue (recycled when one is kept, else new).
  std::unique_ptr<OutputQueue> take();
  /// Takes back a queue, dropping what it still holds. Null is ignored.
  void give(std::unique_ptr<OutputQueue> q) noexcept;
  std::size_t kept() const noexcept { return free_.size(); }
  std::size_t kept_bytes() const noexcept { return kept_bytes_; }

 private:
  std::vector<std::unique_ptr<OutputQueue>> free_;
  std::size_t kept_bytes_ = 0;
};

}  // namespace sockit::loop
