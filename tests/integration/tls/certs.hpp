// Test certificates made at test time with the openssl CLI in a temporary directory (never
// committed keys): a CA, a server certificate it signs for localhost and 127.0.0.1, the same
// name expired, and a self-signed one. Removed with the object.
#pragma once

#include "support/support.hpp"

#include <gtest/gtest.h>

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

}  // namespace sockit::test
