// The /metrics HTTP request parser and answers (no sockets).
#include "tools/metrics/http.hpp"

#include <gtest/gtest.h>

namespace sockit::metrics {
namespace {

using Status = HttpRequest::Status;

std::string answer(std::string_view raw) {
  return respond(parse_request(raw), [] { return std::string("x 1\n"); }).bytes;
}

TEST(MetricsHttp, GetMetricsKeepsAlive) {
  auto req = parse_request("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\nGET");
  ASSERT_EQ(req.status, Status::complete);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/metrics");
  EXPECT_TRUE(req.keep_alive);
  EXPECT_EQ(req.consumed, 34u);
  auto r = respond(req, [] { return std::string("x 1\n"); });
  EXPECT_FALSE(r.close);
  EXPECT_EQ(r.bytes,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: 4\r\n"
            "Connection: keep-alive\r\n\r\nx 1\n");
}

TEST(MetricsHttp, ConnectionRules) {
  EXPECT_FALSE(parse_request("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse_request("GET /metrics HTTP/1.0\r\n\r\n").keep_alive);
  EXPECT_TRUE(parse_request("GET /metrics HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse_request("GET /metrics HTTP/1.1\r\nconnection: foo, close\r\n\r\n").keep_alive);
  // Bare LF line ends and a leading empty line are accepted.
  auto r = parse_request("\r\nGET /metrics?x=1 HTTP/1.1\nHost: a\n\n");
  ASSERT_EQ(r.status, Status::complete);
  EXPECT_EQ(r.consumed, 37u);
  EXPECT_NE(answer("GET /metrics?x=1 HTTP/1.1\n\n").find("200 OK"), std::string::npos);
  EXPECT_NE(answer("GET http://h:9/metrics HTTP/1.1\r\n\r\n").find("200 OK"), std::string::npos);
}

TEST(MetricsHttp, Incomplete) {
  EXPECT_EQ(parse_request("").status, Status::incomplete);
  EXPECT_EQ(parse_request("GET /metrics HTTP/1.1\r\nHost: a\r\n").status, Status::incomplete);
}

TEST(MetricsHttp, ErrorsAndTheirAnswersClose) {
  auto not_found = respond(parse_request("GET / HTTP/1.1\r\n\r\n"), [] { return std::string(); });
  EXPECT_TRUE(not_found.bytes.starts_with("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_TRUE(not_found.close);
  std::string post = answer("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_TRUE(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_NE(post.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(answer("garbage\r\n\r\n").starts_with("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_TRUE(answer("GET /metrics HTTP/2.0\r\n\r\n").starts_with("HTTP/1.1 400"));
  EXPECT_TRUE(answer("GET /metrics HTTP/1.1\r\nno colon\r\n\r\n").starts_with("HTTP/1.1 400"));
  EXPECT_TRUE(answer("GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n").starts_with("HTTP/1.1 400"));
  EXPECT_TRUE(answer("GET  /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400"));
  // A first line that cannot be HTTP is refused at once, before the head is complete.
  EXPECT_EQ(parse_request("\x16\x03\x01\x02\x01\n").status, Status::bad);
  // A body on a GET: answered, then the connection closes (the body is never parsed as a request).
  auto body = respond(parse_request("GET /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nxx"), [] { return std::string(); });
  EXPECT_TRUE(body.close);
}

TEST(MetricsHttp, HeadAnswersWithoutBody) {
  std::string r = answer("HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(r.ends_with("Content-Length: 4\r\nConnection: keep-alive\r\n\r\n")) << r;
}

TEST(MetricsHttp, AFloodOfEmptyLinesIsRefusedWithoutRecursion) {
  EXPECT_EQ(parse_request(std::string(100, '\n')).status, Status::incomplete);
  EXPECT_EQ(parse_request(std::string(1 << 20, '\n')).status, Status::bad);  // was a stack overflow
  auto r = parse_request(std::string(50, '\n') + "GET /metrics HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.status, Status::complete);
  EXPECT_EQ(r.consumed, 75u);
}

TEST(MetricsHttp, SizeCaps) {
  std::string big = "GET /metrics HTTP/1.1\r\nX: " + std::string(kMaxRequestHead, 'a');
  EXPECT_EQ(parse_request(big).status, Status::too_large);
  EXPECT_TRUE(answer(big).starts_with("HTTP/1.1 431 "));
  std::string many = "GET /metrics HTTP/1.1\r\n";
  for (std::size_t i = 0; i <= kMaxHeaders; ++i) many += "X: y\r\n";
  EXPECT_EQ(parse_request(many + "\r\n").status, Status::too_large);
}

}  // namespace
}  // namespace sockit::metrics
