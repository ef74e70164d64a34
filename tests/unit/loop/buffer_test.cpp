// Buffer indices after each operation (muduo Buffer_unittest) and OutputQueue chunking.
#include "sockit/loop/buffer.hpp"
#include "support/support.hpp"

#include <gtest/gtest.h>

#include <string>

#include <sys/socket.h>
#include <unistd.h>

using sockit::loop::Buffer;
using sockit::loop::OutputQueue;

TEST(Buffer, NewBufferHoldsNoMemory) {
  Buffer b;
  EXPECT_EQ(b.capacity(), 0u);
  EXPECT_EQ(b.readable_bytes(), 0u);
  EXPECT_EQ(b.prependable_bytes(), Buffer::kCheapPrepend);
  EXPECT_EQ(b.view(), "");
}

TEST(Buffer, AppendRetrieveMoveIndices) {
  Buffer b;
  b.append(std::string(200, 'x'));
  EXPECT_EQ(b.readable_bytes(), 200u);
  EXPECT_EQ(b.writable_bytes(), Buffer::kInitialSize - Buffer::kCheapPrepend - 200);
  std::string s = b.retrieve_as_string(50);
  EXPECT_EQ(s, std::string(50, 'x'));
  EXPECT_EQ(b.readable_bytes(), 150u);
  EXPECT_EQ(b.prependable_bytes(), Buffer::kCheapPrepend + 50);
  b.retrieve_all();
  EXPECT_EQ(b.readable_bytes(), 0u);
  EXPECT_EQ(b.prependable_bytes(), Buffer::kCheapPrepend);
}

TEST(Buffer, GrowsAndCompactsInsteadOfGrowingWhenRoomInFront) {
  Buffer b;
  b.append(std::string(800, 'a'));
  b.retrieve(700);
  std::size_t cap = b.capacity();
  b.append(std::string(300, 'b'));  // fits after moving 100 readable bytes to the front
  EXPECT_EQ(b.capacity(), cap);
  EXPECT_EQ(b.readable_bytes(), 400u);
  EXPECT_EQ(b.view(), std::string(100, 'a') + std::string(300, 'b'));
  b.append(std::string(5000, 'c'));
  EXPECT_GE(b.capacity(), 5400u);
  EXPECT_EQ(b.readable_bytes(), 5400u);
}

TEST(Buffer, PrependUsesCheapSpace) {
  Buffer b;
  b.append("body");
  std::uint32_t len = 4;
  b.prepend(&len, sizeof len);
  EXPECT_EQ(b.readable_bytes(), 8u);
  EXPECT_EQ(b.prependable_bytes(), Buffer::kCheapPrepend - 4);
  EXPECT_EQ(b.view().substr(4), "body");
}

TEST(Buffer, FindsLineEnds) {
  Buffer b;
  b.append("NICK a\r\nUSER b\n");
  ASSERT_NE(b.find_crlf(), nullptr);
  EXPECT_EQ(b.find_crlf() - b.peek(), 6);
  EXPECT_EQ(b.find_eol() - b.peek(), 7);
  b.retrieve(8);
  EXPECT_EQ(b.find_crlf(), nullptr);
}

TEST(Buffer, ReleaseFreesOnlyWhenEmpty) {
  Buffer b;
  b.append("x");
  b.release();
  EXPECT_GT(b.capacity(), 0u);
  b.retrieve_all();
  b.release();
  EXPECT_EQ(b.capacity(), 0u);
}

TEST(Buffer, ReadFdSpillsIntoStackAndAppends) {
  sockit::test::FdLeakCheck leaks;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  std::string data(50000, 'z');
  ASSERT_EQ(::write(sv[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  Buffer b;  // no capacity: everything lands in the spill buffer in one readv
  auto n = b.read_fd(sv[0]);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, data.size());
  EXPECT_EQ(b.view(), data);
  ::close(sv[1]);
  auto eof = b.read_fd(sv[0]);
  ASSERT_TRUE(eof);
  EXPECT_EQ(*eof, 0u);
  ::close(sv[0]);
}

TEST(OutputQueue, MergesSmallAppendsAndKeepsBigOnesWhole) {
  OutputQueue q;
  q.append(std::string_view("abc"));
  q.append(std::string_view("def"));
  EXPECT_EQ(q.chunks(), 1u);
  q.append(std::string(100000, 'x'));
  EXPECT_EQ(q.size(), 100006u);
  q.append(std::string_view("tail"));
  EXPECT_EQ(q.chunks(), 3u);
  q.consume(4);
  EXPECT_EQ(q.to_string().substr(0, 2), "ef");
  q.consume(q.size());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.chunks(), 0u);
}

TEST(OutputQueue, WritesWithOneSendmsgAndStopsAtEagain) {
  sockit::test::FdLeakCheck leaks;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  OutputQueue q;
  std::string expect;
  for (int i = 0; i < 10; ++i) {
    std::string part(20000, static_cast<char>('a' + i));
    expect += part;
    q.append(std::move(part));
  }
  std::string got;
  char buf[65536];
  while (!q.empty()) {
    auto n = q.write_to(sv[0]);
    ASSERT_TRUE(n);
    ssize_t r;
    while ((r = ::read(sv[1], buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(r));
  }
  EXPECT_EQ(got, expect);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(OutputQueue, SharedPartsAreQueuedByReferenceInOrderWithOwnBytes) {
  auto owner = std::make_shared<const std::string>(std::string(300, 'a') + std::string(300, 'b'));
  OutputQueue q;
  q.append(std::string_view("head "));
  q.append(owner, std::string_view(*owner).substr(0, 300));
  q.append(std::string_view(" mid "));
  q.append(owner, std::string_view(*owner).substr(300));
  q.append(owner, std::string_view(*owner).substr(10, 5));  // short: copied, not referenced
  EXPECT_EQ(q.chunks(), 5u);
  EXPECT_EQ(owner.use_count(), 3);  // two references, not copies
  EXPECT_EQ(q.to_string(), "head " + std::string(300, 'a') + " mid " + std::string(300, 'b') + "aaaaa");
  q.consume(q.size() - 5);
  EXPECT_EQ(owner.use_count(), 1);  // written parts drop their reference
  q.drop();
  EXPECT_TRUE(q.empty());
}

TEST(OutputQueue, OneWriteCallSendsMoreChunksThanOneSendmsgTakes) {
  // With edge-triggered epoll no writability event follows a write the kernel took whole, so
  // write_to() itself must go on past kMaxIov chunks.
  sockit::test::FdLeakCheck leaks;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  auto owner = std::make_shared<const std::string>(std::string(200, 'x'));
  OutputQueue q;
  const int n = OutputQueue::kMaxIov * 2 + 3;
  for (int i = 0; i < n; ++i) q.append(owner);
  auto wrote = q.write_to(sv[0]);
  ASSERT_TRUE(wrote);
  EXPECT_EQ(*wrote, static_cast<std::size_t>(n) * 200);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(owner.use_count(), 1);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(OutputQueuePool, RecyclesDrainedQueuesWithinItsBounds) {
  sockit::loop::OutputQueuePool pool;
  auto q = pool.take();
  q->append(std::string_view("queued, then dropped when given back"));
  OutputQueue* first = q.get();
  pool.give(std::move(q));
  EXPECT_EQ(pool.kept(), 1u);
  auto again = pool.take();
  EXPECT_EQ(again.get(), first);  // the same queue, storage and all
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(pool.kept(), 0u);
  EXPECT_EQ(pool.kept_bytes(), 0u);
  std::vector<std::unique_ptr<OutputQueue>> many;
  for (std::size_t i = 0; i < sockit::loop::OutputQueuePool::kMaxKept + 10; ++i) many.push_back(pool.take());
  for (auto& m : many) pool.give(std::move(m));
  EXPECT_EQ(pool.kept(), sockit::loop::OutputQueuePool::kMaxKept);
  EXPECT_LE(pool.kept_bytes(), sockit::loop::OutputQueuePool::kMaxKeptBytes);
  pool.give(nullptr);  // ignored
}
