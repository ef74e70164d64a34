/* The floor for bench/pair.sh: the least an epoll echo server can do (not part of sockit).
 * One thread, edge-triggered, registered once; per readiness event one recv() into a static
 * buffer and one send() of what came, nothing else: no per-connection state, no output queue (a
 * reply the socket does not take whole is cut short, which pingpong never causes), no timers.
 * Any real server costs at least this much CPU per message; issue 4 calls it "a bare epoll loop".
 *   bench_bare_echo PORT      (listens on 127.0.0.1:PORT)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kMaxEvents = 256, kBuffer = 65536 };
static char buffer[kBuffer];

int main(int argc, char** argv) {
  if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(listener, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(listener, 4096) != 0) {
    perror("bench_bare_echo: listen");
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = listener};
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  struct epoll_event events[kMaxEvents];
  for (;;) {
    int n = epoll_wait(ep, events, kMaxEvents, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        int c;
        while ((c = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event ce = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
        }
        continue;
      }
      /* Edge-triggered: a short read drains the socket, unless a FIN waits behind the data. */
      int to_end = (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
      for (;;) {
        ssize_t got = recv(fd, buffer, sizeof buffer, 0);
        if (got > 0) {
          (void)send(fd, buffer, (size_t)got, MSG_NOSIGNAL);
          if (got < kBuffer && !to_end) break;
          continue;
        }
        if (got < 0 && errno == EAGAIN) break;
        close(fd); /* end of stream or an error */
        break;
      }
    }
  }
}
