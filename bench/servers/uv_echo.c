/* Reference TCP+UDP echo server on libuv, for bench/run.sh (not part of sockit).
 * One uv_loop per thread, each with its own SO_REUSEPORT listener (and UDP socket). The session
 * is the idiomatic libuv echo: alloc_cb mallocs a buffer when bytes arrive, uv_write sends it,
 * the write callback frees it, so an idle connection holds no buffer.
 *   bench_uv_echo --listen 127.0.0.1:7000 [--udp 127.0.0.1:7001] [--threads N] */
#include <uv.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  uv_write_t req;
  uv_buf_t buf;
} write_req_t;

static struct sockaddr_storage g_tcp, g_udp;
static int g_have_udp = 0;

static void alloc_cb(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  (void)h;
  buf->base = malloc(suggested);
  buf->len = suggested;
}

static void close_cb(uv_handle_t* h) { free(h); }

static void write_cb(uv_write_t* req, int status) {
  write_req_t* wr = (write_req_t*)req;
  free(wr->buf.base);
  free(wr);
  (void)status;
}

static void read_cb(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  if (n > 0) {
    write_req_t* wr = malloc(sizeof *wr);
    wr->buf = uv_buf_init(buf->base, (unsigned)n);
    if (uv_write(&wr->req, s, &wr->buf, 1, write_cb) != 0) {
      free(buf->base);
      free(wr);
    }
    return;
  }
  free(buf->base);
  if (n < 0) uv_close((uv_handle_t*)s, close_cb);
}

static void connection_cb(uv_stream_t* server, int status) {
  if (status < 0) return;
  uv_tcp_t* c = malloc(sizeof *c);
  uv_tcp_init(server->loop, c);
  if (uv_accept(server, (uv_stream_t*)c) == 0) {
    uv_tcp_nodelay(c, 1);
    uv_read_start((uv_stream_t*)c, alloc_cb, read_cb);
  } else {
    uv_close((uv_handle_t*)c, close_cb);
  }
}

static __thread char udp_buf[65536];
static void udp_alloc(uv_handle_t* h, size_t s, uv_buf_t* buf) {
  (void)h;
  (void)s;
  buf->base = udp_buf; /* per thread: each loop runs on its own thread */
  buf->len = sizeof udp_buf;
}
static void udp_recv(uv_udp_t* u, ssize_t n, const uv_buf_t* buf, const struct sockaddr* peer, unsigned flags) {
  (void)flags;
  if (n <= 0 || !peer) return;
  uv_buf_t b = uv_buf_init(buf->base, (unsigned)n);
  uv_udp_try_send(u, &b, 1, peer);
}

static int reuseport_socket(int type, const struct sockaddr_storage* ss) {
  int fd = socket(ss->ss_family, type, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (bind(fd, (const struct sockaddr*)ss, len) != 0) {
    perror("bind");
    exit(1);
  }
  return fd;
}

static void* run_loop(void* arg) {
  (void)arg;
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_tcp_t server;
  uv_tcp_init(&loop, &server);
  int fd = reuseport_socket(SOCK_STREAM, &g_tcp);
  uv_tcp_open(&server, fd);
  if (uv_listen((uv_stream_t*)&server, 4096, connection_cb) != 0) {
    fprintf(stderr, "listen failed\n");
    exit(1);
  }
  uv_udp_t udp;
  if (g_have_udp) {
    uv_udp_init(&loop, &udp);
    uv_udp_open(&udp, reuseport_socket(SOCK_DGRAM, &g_udp));
    uv_udp_recv_start(&udp, udp_alloc, udp_recv);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  return NULL;
}

static int parse(const char* text, struct sockaddr_storage* ss) {
  char host[128];
  const char* c = strrchr(text, ':');
  if (!c || (size_t)(c - text) >= sizeof host) return -1;
  memcpy(host, text, (size_t)(c - text));
  host[c - text] = 0;
  int port = atoi(c + 1);
  if (host[0] == '[') {
    host[strlen(host) - 1] = 0;
    return uv_ip6_addr(host + 1, port, (struct sockaddr_in6*)ss);
  }
  return uv_ip4_addr(host, port, (struct sockaddr_in*)ss);
}

int main(int argc, char** argv) {
  const char* listen = "127.0.0.1:7000";
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--listen") && i + 1 < argc) listen = argv[++i];
    else if (!strcmp(argv[i], "--udp") && i + 1 < argc) {
      if (parse(argv[++i], &g_udp) != 0) return 2;
      g_have_udp = 1;
    } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: %s [--listen HOST:PORT] [--udp HOST:PORT] [--threads N]\n", argv[0]);
      return 2;
    }
  }
  if (threads < 1) threads = 1;
  if (parse(listen, &g_tcp) != 0) return 2;
  fprintf(stderr, "libuv echo: listening on %s, %d thread(s)\n", listen, threads);
  pthread_t t[256];
  for (int i = 1; i < threads && i < 256; ++i) pthread_create(&t[i], NULL, run_loop, NULL);
  run_loop(NULL);
  return 0;
}
