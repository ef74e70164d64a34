// LD_PRELOAD shim for bench/tls-compare.sh's idle-memory cells (not part of sockit): clears
// SSL_MODE_RELEASE_BUFFERS from every SSL_CTX_set_mode / SSL_set_mode call (both are macros over
// SSL_CTX_ctrl / SSL_ctrl with SSL_CTRL_MODE), so the same sockit and Asio binaries can be measured
// with OpenSSL keeping each connection's record buffers while idle. Prints one line on stderr
// the first time it masks the mode, so a run can tell that it was loaded.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/ssl.h>
#include <stdio.h>

// The mode bits of an SSL_CTRL_MODE call without SSL_MODE_RELEASE_BUFFERS; other calls unchanged.
static long masked(int cmd, long larg) {
  static int said;
  if (cmd != SSL_CTRL_MODE || (larg & SSL_MODE_RELEASE_BUFFERS) == 0) return larg;
  if (!said) {
    said = 1;
    fputs("no_release_buffers: SSL_MODE_RELEASE_BUFFERS cleared\n", stderr);
  }
  return larg & ~(long)SSL_MODE_RELEASE_BUFFERS;
}

long SSL_CTX_ctrl(SSL_CTX* ctx, int cmd, long larg, void* parg) {
  static long (*real)(SSL_CTX*, int, long, void*);
  if (real == NULL) real = (long (*)(SSL_CTX*, int, long, void*))dlsym(RTLD_NEXT, "SSL_CTX_ctrl");
  return real(ctx, cmd, masked(cmd, larg), parg);
}

long SSL_ctrl(SSL* ssl, int cmd, long larg, void* parg) {
  static long (*real)(SSL*, int, long, void*);
  if (real == NULL) real = (long (*)(SSL*, int, long, void*))dlsym(RTLD_NEXT, "SSL_ctrl");
  return real(ssl, cmd, masked(cmd, larg), parg);
}
