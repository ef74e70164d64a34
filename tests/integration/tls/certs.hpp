// Test certificates made at test time with the openssl CLI in a temporary directory (never
// committed keys): a CA, a server certificate it signs for localhost and 127.0.0.1, the same
// name expired, and a self-signed one. Removed with the object.
#pragma once

#include "sockit/net/socket.hpp"
#include "support/support.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace sockit::test {

struct TestCerts {
  std::string dir, ca, cert, key, expired, self_cert, self_key;
  bool ok = false;

  TestCerts() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sockit-tls-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return;
    dir = tmpl;
    ca = dir + "/ca.pem";
    cert = dir + "/server.pem";
    key = dir + "/server.key";
    expired = dir + "/expired.pem";
    self_cert = dir + "/self.pem";
    self_key = dir + "/self.key";
    const std::string ec = "ec_paramgen_curve:P-256";
    std::string ext = dir + "/ext.cnf";
    ok = sh({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", ec, "-nodes", "-keyout", dir + "/ca.key", "-out", ca,
             "-days", "2", "-subj", "/CN=sockit test CA"}) &&
         sh({"openssl", "req", "-newkey", "ec", "-pkeyopt", ec, "-nodes", "-keyout", key, "-out", dir + "/server.csr",
             "-subj", "/CN=localhost"}) &&
         sh({"sh", "-c", "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > " + ext}) &&
         sh({"openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", ca, "-CAkey", dir + "/ca.key",
             "-CAcreateserial", "-days", "2", "-out", cert, "-extfile", ext}) &&
         sh({"openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", ca, "-CAkey", dir + "/ca.key",
             "-CAcreateserial", "-days", "-1", "-out", expired, "-extfile", ext}) &&
         sh({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", ec, "-nodes", "-keyout", self_key, "-out",
             self_cert, "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"});
  }
  ~TestCerts() {
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
  TestCerts(const TestCerts&) = delete;
  TestCerts& operator=(const TestCerts&) = delete;

 private:
  static bool sh(const std::vector<std::string>& argv) {
    auto r = run(argv, {}, std::chrono::seconds(20));
    EXPECT_EQ(r.status, 0) << argv[0] << " " << argv[1] << ": " << r.err;
    return r.status == 0;
  }
};

/// A plaintext client on a TLS port: sends `hello`, then reads until the server closes (at most
/// an alert record comes first). Returns whether it was closed; `got` holds what was read.
inline bool plaintext_client_closed(std::uint16_t port, std::string_view hello, std::string& got) {
  using namespace std::chrono_literals;
  auto s = TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(5s));
  if (!s || !s->write_all(hello, Deadline::after(5s))) return false;
  std::array<std::byte, 512> buf{};
  for (int i = 0; i < 10; ++i) {
    auto n = s->read_some(buf, Deadline::after(10s));
    if (!n) return n.error() != std::errc::timed_out;
    if (*n == 0) return true;
    got.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return false;
}

}  // namespace sockit::test
