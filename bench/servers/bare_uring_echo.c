/* The completion-based floor for bench/pair.sh: the least an io_uring echo server can do (not part
 * of sockit), with a switch for each step of issue 21 item 4 so that each can be measured alone
 * against bench/servers/bare_epoll_echo.c:
 *   bench_bare_uring_echo PORT [--accept single|multi] [--recv single|ring|multi]
 *                              [--send syscall|sqe] [--setup plain|coop|defer]
 *   --accept single  one ACCEPT SQE at a time, re-armed after each completion
 *            multi   one multishot ACCEPT for the listener's life (re-armed if it ends)
 *   --recv   single  one-shot RECV into a 4 KiB buffer of the connection, re-armed after the echo
 *            ring    one-shot RECV that picks a buffer from a provided-buffer ring
 *            multi   one multishot RECV per connection over the provided-buffer ring
 *   --send   syscall send() at the completion, the buffer reused at once
 *            sqe     a SEND SQE, submitted with the next wait (one io_uring_enter per turn); the
 *                    buffer (ring slot or the connection's) is given back at the SEND's completion
 *   --setup  plain   no task-work flag; coop: IORING_SETUP_COOP_TASKRUN;
 *            defer   IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN
 * Defaults: --accept multi --recv multi --send sqe --setup defer (every step on).
 * Like the bare epoll loop: one thread, no timers, no output queue (a reply the socket does not take
 * whole is cut short, which pingpong never causes), an error or EOF closes. Listens on 127.0.0.1.
 * No allocation per operation: the ring's buffers and the per-connection slots are allocated once.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kOpAccept = 1, kOpRecv = 2, kOpSend = 3 };
enum { kRingBuffers = 4096, kBufferSize = 4096, kGroup = 7, kMaxFd = 65536, kEntries = 4096 };
enum AcceptMode { kAcceptSingle, kAcceptMulti };
enum RecvMode { kRecvSingle, kRecvRing, kRecvMulti };
enum SendMode { kSendSyscall, kSendSqe };

static struct io_uring ring;
static struct io_uring_buf_ring* buf_ring;
static char* ring_memory;       /* kRingBuffers x kBufferSize */
static char* conn_memory;       /* kMaxFd x kBufferSize, touched only with --recv single */
static enum AcceptMode accept_mode = kAcceptMulti;
static enum RecvMode recv_mode = kRecvMulti;
static enum SendMode send_mode = kSendSqe;

static uint64_t tag(int op, int fd, unsigned bid) { return (uint64_t)op << 56 | (uint64_t)bid << 32 | (uint32_t)fd; }

static struct io_uring_sqe* sqe_get(void) {
  struct io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  if (sqe == NULL) { /* the SQ is full: hand what is queued to the kernel first */
    io_uring_submit(&ring);
    sqe = io_uring_get_sqe(&ring);
  }
  return sqe;
}

static void arm_accept(int listener) {
  struct io_uring_sqe* sqe = sqe_get();
  if (accept_mode == kAcceptMulti)
    io_uring_prep_multishot_accept(sqe, listener, NULL, NULL, SOCK_CLOEXEC);
  else
    io_uring_prep_accept(sqe, listener, NULL, NULL, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, tag(kOpAccept, listener, 0));
}

static void arm_recv(int fd) {
  struct io_uring_sqe* sqe = sqe_get();
  if (recv_mode == kRecvSingle) {
    io_uring_prep_recv(sqe, fd, conn_memory + (size_t)fd * kBufferSize, kBufferSize, 0);
  } else {
    if (recv_mode == kRecvMulti)
      io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    else
      io_uring_prep_recv(sqe, fd, NULL, kBufferSize, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kGroup;
  }
  io_uring_sqe_set_data64(sqe, tag(kOpRecv, fd, 0));
}

static void give_back(unsigned bid) {
  io_uring_buf_ring_add(buf_ring, ring_memory + (size_t)bid * kBufferSize, kBufferSize, (unsigned short)bid,
                        io_uring_buf_ring_mask(kRingBuffers), 0);
  io_uring_buf_ring_advance(buf_ring, 1);
}

/* The echo of `got` bytes that arrived for fd in buffer bid (ring) or the connection's buffer. */
static void echo(int fd, unsigned bid, int got, int more) {
  char* data = recv_mode == kRecvSingle ? conn_memory + (size_t)fd * kBufferSize : ring_memory + (size_t)bid * kBufferSize;
  if (send_mode == kSendSyscall) {
    (void)send(fd, data, (size_t)got, MSG_NOSIGNAL);
    if (recv_mode != kRecvSingle) give_back(bid);
    if (!more) arm_recv(fd);
    return;
  }
  struct io_uring_sqe* sqe = sqe_get();
  io_uring_prep_send(sqe, fd, data, (size_t)got, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, tag(kOpSend, fd, bid));
  /* A one-shot receive into the connection's buffer waits for the send (the buffer is in flight);
   * one from the ring can go again at once, like a multishot one that ended. */
  if (!more && recv_mode != kRecvSingle) arm_recv(fd);
}

static void on_cqe(const struct io_uring_cqe* cqe) {
  uint64_t data = io_uring_cqe_get_data64(cqe);
  int op = (int)(data >> 56), fd = (int)(uint32_t)data;
  unsigned bid = (unsigned)(data >> 32) & 0xffff;
  int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  switch (op) {
    case kOpAccept:
      if (cqe->res >= 0) {
        int one = 1;
        if (cqe->res >= kMaxFd) {
          close(cqe->res);
        } else {
          setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          arm_recv(cqe->res);
        }
      }
      if (!more) arm_accept(fd);
      return;
    case kOpRecv:
      if (cqe->res > 0) {
        unsigned got_bid = (cqe->flags & IORING_CQE_F_BUFFER) ? cqe->flags >> IORING_CQE_BUFFER_SHIFT : 0;
        echo(fd, got_bid, cqe->res, more);
        return;
      }
      if (cqe->res == -ENOBUFS) { /* the ring ran dry: try again (the sends in flight give back) */
        if (!more) arm_recv(fd);
        return;
      }
      if (!more) close(fd); /* end of stream or an error (a multishot receive ends with its last CQE) */
      return;
    case kOpSend:
      if (recv_mode != kRecvSingle)
        give_back(bid);
      else if (cqe->res >= 0)
        arm_recv(fd);
      return;
    default:
      return;
  }
}

static int pick(const char* value, const char* const* names, int count, const char* flag) {
  for (int i = 0; i < count; ++i)
    if (strcmp(value, names[i]) == 0) return i;
  fprintf(stderr, "bench_bare_uring_echo: bad %s '%s'\n", flag, value);
  exit(2);
}

int main(int argc, char** argv) {
  static const char* const accepts[] = {"single", "multi"};
  static const char* const recvs[] = {"single", "ring", "multi"};
  static const char* const sends[] = {"syscall", "sqe"};
  static const char* const setups[] = {"plain", "coop", "defer"};
  int setup = 2;
  if (argc < 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535 || argc % 2 != 0) {
    fprintf(stderr, "usage: %s PORT [--accept single|multi] [--recv single|ring|multi] [--send syscall|sqe] [--setup plain|coop|defer]\n", argv[0]);
    return 2;
  }
  for (int i = 2; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--accept") == 0) accept_mode = (enum AcceptMode)pick(argv[i + 1], accepts, 2, argv[i]);
    else if (strcmp(argv[i], "--recv") == 0) recv_mode = (enum RecvMode)pick(argv[i + 1], recvs, 3, argv[i]);
    else if (strcmp(argv[i], "--send") == 0) send_mode = (enum SendMode)pick(argv[i + 1], sends, 2, argv[i]);
    else if (strcmp(argv[i], "--setup") == 0) setup = pick(argv[i + 1], setups, 3, argv[i]);
    else { fprintf(stderr, "bench_bare_uring_echo: unknown option '%s'\n", argv[i]); return 2; }
  }
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(listener, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(listener, 4096) != 0) {
    perror("bench_bare_uring_echo: listen");
    return 1;
  }
  struct io_uring_params params;
  memset(&params, 0, sizeof params);
  params.flags = setup == 1 ? IORING_SETUP_COOP_TASKRUN
               : setup == 2 ? IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN : 0;
  params.flags |= IORING_SETUP_CQSIZE;
  params.cq_entries = 4 * kEntries;
  int rc = io_uring_queue_init_params(kEntries, &ring, &params);
  if (rc < 0) {
    fprintf(stderr, "bench_bare_uring_echo: io_uring_queue_init: %s\n", strerror(-rc));
    return 1;
  }
  if (recv_mode == kRecvSingle) {
    conn_memory = mmap(NULL, (size_t)kMaxFd * kBufferSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (conn_memory == MAP_FAILED) { perror("bench_bare_uring_echo: mmap"); return 1; }
  } else {
    size_t ring_bytes = kRingBuffers * sizeof(struct io_uring_buf);
    buf_ring = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ring_memory = malloc((size_t)kRingBuffers * kBufferSize);
    if (buf_ring == MAP_FAILED || ring_memory == NULL) { perror("bench_bare_uring_echo: buffers"); return 1; }
    io_uring_buf_ring_init(buf_ring);
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)buf_ring, .ring_entries = kRingBuffers, .bgid = kGroup};
    rc = io_uring_register_buf_ring(&ring, &reg, 0);
    if (rc < 0) {
      fprintf(stderr, "bench_bare_uring_echo: io_uring_register_buf_ring: %s\n", strerror(-rc));
      return 1;
    }
    for (unsigned bid = 0; bid < kRingBuffers; ++bid)
      io_uring_buf_ring_add(buf_ring, ring_memory + (size_t)bid * kBufferSize, kBufferSize, (unsigned short)bid,
                            io_uring_buf_ring_mask(kRingBuffers), (int)bid);
    io_uring_buf_ring_advance(buf_ring, kRingBuffers);
  }
  arm_accept(listener);
  for (;;) {
    /* One io_uring_enter per turn: submits what the last turn queued (sends, re-arms) and waits. */
    rc = io_uring_submit_and_wait(&ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      fprintf(stderr, "bench_bare_uring_echo: io_uring_submit_and_wait: %s\n", strerror(-rc));
      return 1;
    }
    struct io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      on_cqe(cqe);
      ++seen;
    }
    io_uring_cq_advance(&ring, seen);
  }
}
