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
// of up to 64 chunks, so queued messages are never compacted or copied byte by byte again.
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

class OutputQueue {
 public:
  /// Appends are merged into the last chunk while it is smaller than this.
  static constexpr std::size_t kMergeLimit = 16 * 1024;
  /// At most this many chunks go into one sendmsg().
  static constexpr int kMaxIov = 64;

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

  /// One sendmsg(MSG_NOSIGNAL|MSG_DONTWAIT) of up to kMaxIov chunks (writev() for descriptors that
  /// are not sockets). Returns bytes written (0 when the kernel buffer is full: EAGAIN is not an
  /// error) and frees the chunks written.
  Result<std::size_t> write_to(int fd);
  /// Drops `n` bytes from the front.
  void consume(std::size_t n) noexcept;
  /// Drops everything and frees all storage.
  void clear() noexcept;
  /// The bytes in order, copied (for tests and blocking drivers).
  std::string to_string() const;

 private:
  std::vector<std::string> chunks_;
  std::size_t head_ = 0;    // first live chunk
  std::size_t offset_ = 0;  // bytes already written from chunks_[head_]
  std::size_t bytes_ = 0;
};

}  // namespace sockit::loop
