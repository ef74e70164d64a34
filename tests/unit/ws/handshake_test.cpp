// ws/handshake.hpp: the bounded HTTP/1.1 upgrade parser and the answer to it (RFC 6455 4.2),
// and the framing helpers of ws/transport.hpp. No sockets.
#include "sockit/ws/handshake.hpp"
#include "sockit/ws/transport.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ws = sockit::ws;

namespace {

const std::string kUpgrade =
    "GET /chat HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

ws::Answer answer_for(const std::string& head, const ws::Policy& policy = {}) {
  ws::Request req;
  std::size_t consumed = 0;
  EXPECT_EQ(ws::parse_request(head, 8192, req, consumed), ws::ParseStatus::done) << head;
  return ws::answer(req, policy);
}

}  // namespace

TEST(WsHandshake, AcceptKeyIsTheRfcExample) {
  EXPECT_EQ(ws::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, ParsesIncrementallyAndKeepsWhatFollows) {
  std::string full = kUpgrade + "\r\n" + "\x81\x85";  // the first frame's bytes right behind
  ws::Request req;
  std::size_t consumed = 0;
  for (std::size_t n = 0; n < kUpgrade.size() + 1; ++n) {
    EXPECT_EQ(ws::parse_request(full.substr(0, n), 8192, req, consumed), ws::ParseStatus::incomplete) << n;
  }
  ASSERT_EQ(ws::parse_request(full, 8192, req, consumed), ws::ParseStatus::done);
  EXPECT_EQ(consumed, kUpgrade.size() + 2);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/chat");
  EXPECT_EQ(req.version, "HTTP/1.1");
  EXPECT_EQ(req.header("sec-websocket-version").value_or(""), "13");
  EXPECT_EQ(req.header("connection").value_or(""), "keep-alive, Upgrade");
  EXPECT_FALSE(req.header("Origin").has_value());
}

TEST(WsHandshake, BareLineFeedsAreTolerated) {
  ws::Request req;
  std::size_t consumed = 0;
  EXPECT_EQ(ws::parse_request("GET / HTTP/1.1\nHost: x\n\n", 8192, req, consumed), ws::ParseStatus::done);
  EXPECT_EQ(req.header("Host").value_or(""), "x");
}

TEST(WsHandshake, OversizedHeadIsTooLarge) {
  std::string head = "GET / HTTP/1.1\r\nX-Fill: " + std::string(9000, 'a');
  ws::Request req;
  std::size_t consumed = 0;
  EXPECT_EQ(ws::parse_request(head, 8192, req, consumed), ws::ParseStatus::too_large);
  EXPECT_EQ(ws::parse_request(head + "\r\n\r\n", 8192, req, consumed), ws::ParseStatus::too_large);
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 200; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  EXPECT_EQ(ws::parse_request(many + "\r\n", 1 << 20, req, consumed), ws::ParseStatus::too_large);
  EXPECT_EQ(ws::error_answer(431, "x").response.substr(0, 46), "HTTP/1.1 431 Request Header Fields Too Large\r\n");
}

TEST(WsHandshake, MalformedRequestsAreBad) {
  ws::Request req;
  std::size_t consumed = 0;
  for (const char* bad : {"GET /\r\n\r\n", "GET / HTTP/1.1 extra\r\n\r\n", "G@T / HTTP/1.1\r\n\r\n", "GET / FTP/1\r\n\r\n",
                          "GET / HTTP/1.1\r\nNoColon\r\n\r\n", "GET / HTTP/1.1\r\n folded: x\r\n\r\n",
                          "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "\r\n\r\n"}) {
    EXPECT_EQ(ws::parse_request(bad, 8192, req, consumed), ws::ParseStatus::bad) << bad;
  }
}

TEST(WsHandshake, GoodUpgradeGets101WithAccept) {
  ws::Answer a = answer_for(kUpgrade + "\r\n");
  EXPECT_EQ(a.status, 101);
  EXPECT_NE(a.response.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos);
  EXPECT_EQ(a.response.find("Sec-WebSocket-Protocol"), std::string::npos);
  EXPECT_TRUE(a.response.ends_with("\r\n\r\n"));
}

TEST(WsHandshake, ErrorsGetTheirStatus) {
  auto status = [](const std::string& head, const ws::Policy& p = {}) { return answer_for(head + "\r\n", p).status; };
  EXPECT_EQ(status("POST /chat HTTP/1.1\r\nUpgrade: websocket\r\n"), 405);
  EXPECT_NE(answer_for("PUT / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n").response.find("Allow: GET\r\n"), std::string::npos);
  EXPECT_EQ(status("GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"), 400);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"), 400);  // an upgrade, not to WebSocket
  std::string no_key = "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
  EXPECT_EQ(status(no_key), 400);
  EXPECT_EQ(status(no_key + "Sec-WebSocket-Key: short==\r\n"), 400);
  std::string v8 = "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  ws::Answer a = answer_for(v8 + "\r\n");
  EXPECT_EQ(a.status, 426);
  EXPECT_NE(a.response.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
  ws::Policy only{{"https://chat.example.org"}, {}};
  EXPECT_EQ(status(kUpgrade + "Origin: https://evil.example\r\n", only), 403);
  EXPECT_EQ(status(kUpgrade + "Origin: HTTPS://chat.example.org\r\n", only), 101);
  EXPECT_EQ(status(kUpgrade, only), 101);  // no Origin: not a browser
  EXPECT_EQ(status(kUpgrade + "Origin: https://evil.example\r\n"), 101);  // no allow-list: any
}

// The web chat page: a request without an Upgrade header is served from the embedded files.
namespace {

const ws::StaticFile kPage[] = {{"/index.html", "<!doctype html><p>hi", "\"e1\""}, {"/app.js", "let x = 1;", "\"e2\""},
                                 {"/style.css", "p{}", "\"e3\""}};

ws::Answer page(const std::string& head) {
  ws::Request req;
  std::size_t consumed = 0;
  EXPECT_EQ(ws::parse_request(head + "\r\n", 8192, req, consumed), ws::ParseStatus::done) << head;
  return ws::page_answer(req, kPage);
}

bool has(const ws::Answer& a, std::string_view what) { return a.response.find(what) != std::string::npos; }

}  // namespace

TEST(WsPage, ServesTheFilesWithTheirTypeCacheAndSecurityHeaders) {
  ws::Answer a = page("GET / HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(a.response.starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(has(a, "\r\nContent-Type: text/html; charset=utf-8\r\n"));
  EXPECT_TRUE(has(a, "\r\nCache-Control: no-cache\r\n"));
  EXPECT_TRUE(has(a, "\r\nETag: \"e1\"\r\n"));
  EXPECT_TRUE(has(a, "\r\nContent-Length: 20\r\n"));
  EXPECT_TRUE(has(a, "\r\nContent-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self';"));
  EXPECT_TRUE(has(a, "connect-src 'self' ws: wss:;"));
  EXPECT_FALSE(has(a, "unsafe-inline"));
  EXPECT_TRUE(has(a, "\r\nX-Content-Type-Options: nosniff\r\n"));
  EXPECT_TRUE(has(a, "\r\nReferrer-Policy: no-referrer\r\n"));
  EXPECT_TRUE(has(a, "\r\nConnection: close\r\n"));
  EXPECT_TRUE(a.response.ends_with("\r\n\r\n<!doctype html><p>hi"));
  EXPECT_EQ(page("GET /index.html?nick=x HTTP/1.0\r\n").response, a.response);  // query ignored, HTTP/1.0 too
  ws::Answer js = page("GET /app.js HTTP/1.1\r\n");
  EXPECT_TRUE(has(js, "\r\nContent-Type: text/javascript; charset=utf-8\r\n"));
  EXPECT_TRUE(has(js, "\r\nCache-Control: max-age=300\r\n"));
  EXPECT_TRUE(js.response.ends_with("\r\n\r\nlet x = 1;"));
  EXPECT_TRUE(has(page("GET /style.css HTTP/1.1\r\n"), "\r\nContent-Type: text/css; charset=utf-8\r\n"));
}

TEST(WsPage, HeadKeepsTheLengthAndDropsTheBody) {
  ws::Answer a = page("HEAD /app.js HTTP/1.1\r\n");
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(has(a, "\r\nContent-Length: 10\r\n"));
  EXPECT_TRUE(a.response.ends_with("\r\n\r\n"));
  EXPECT_TRUE(page("HEAD /nope HTTP/1.1\r\n").response.ends_with("\r\n\r\n"));
}

TEST(WsPage, IfNoneMatchGives304) {
  ws::Answer a = page("GET /app.js HTTP/1.1\r\nIf-None-Match: \"zz\", W/\"e2\"\r\n");
  EXPECT_EQ(a.status, 304);
  EXPECT_TRUE(a.response.ends_with("\r\n\r\n"));
  EXPECT_FALSE(has(a, "Content-Length"));
  EXPECT_EQ(page("GET /app.js HTTP/1.1\r\nIf-None-Match: \"e1\"\r\n").status, 200);
}

TEST(WsPage, UnknownPathsAndTraversalAre404) {
  for (const char* target : {"/nope", "/../index.html", "/%2e%2e/index.html", "/..%2findex.html", "//index.html",
                             "/index.html/", "/INDEX.HTML", "/./app.js", "/%61pp.js", "/web/app.js",
                             "http://x/index.html", "*", "/../../../../etc/passwd"}) {
    ws::Answer a = page(std::string("GET ") + target + " HTTP/1.1\r\n");
    EXPECT_EQ(a.status, 404) << target;
    EXPECT_TRUE(has(a, "Content-Security-Policy: ")) << target;
    EXPECT_TRUE(has(a, "X-Content-Type-Options: nosniff")) << target;
  }
}

TEST(WsPage, OtherMethodsAre405WithAllow) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "TRACE"}) {
    ws::Answer a = page(std::string(method) + " / HTTP/1.1\r\n");
    EXPECT_EQ(a.status, 405) << method;
    EXPECT_TRUE(has(a, "\r\nAllow: GET, HEAD\r\n")) << method;
  }
  EXPECT_EQ(page("GET / HTTP/2.0\r\n").status, 400);
}

TEST(WsPage, AnUpgradeHeaderDecides) {
  // answer(): no Upgrade -> the page (the files built in), an Upgrade -> the WebSocket handshake.
  ws::Answer a = answer_for("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(has(a, "Content-Type: text/html"));
  EXPECT_TRUE(has(a, "<script src=\"/app.js\""));
  EXPECT_EQ(answer_for(kUpgrade + "\r\n").status, 101);
  EXPECT_EQ(answer_for("POST / HTTP/1.1\r\n\r\n").response.find("Allow: GET, HEAD\r\n") != std::string::npos, true);
  // Each embedded file is served under its name, with its ETag.
  ASSERT_GE(ws::web_files().size(), 3u);
  for (const ws::StaticFile& f : ws::web_files()) {
    ws::Answer got = answer_for("GET " + std::string(f.path) + " HTTP/1.1\r\n\r\n");
    EXPECT_EQ(got.status, 200) << f.path;
    EXPECT_TRUE(got.response.ends_with(f.body)) << f.path;
    EXPECT_FALSE(f.body.empty()) << f.path;
  }
}

TEST(WsHandshake, SubprotocolHonoursTheClientsOrder) {
  ws::Policy p{{}, {"text.ircv3.net", "binary.ircv3.net"}};
  EXPECT_EQ(answer_for(kUpgrade + "Sec-WebSocket-Protocol: binary.ircv3.net, text.ircv3.net\r\n\r\n", p).subprotocol,
            "binary.ircv3.net");
  EXPECT_EQ(answer_for(kUpgrade + "Sec-WebSocket-Protocol: foo\r\nSec-WebSocket-Protocol: text.ircv3.net\r\n\r\n", p)
                .subprotocol,
            "text.ircv3.net");
  ws::Answer none = answer_for(kUpgrade + "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n", p);
  EXPECT_EQ(none.status, 101);
  EXPECT_EQ(none.subprotocol, "");
  EXPECT_NE(answer_for(kUpgrade + "Sec-WebSocket-Protocol: text.ircv3.net\r\n\r\n", p)
                .response.find("Sec-WebSocket-Protocol: text.ircv3.net\r\n"),
            std::string::npos);
  EXPECT_EQ(ws::choose_subprotocol(" , binary.ircv3.net ,", p.subprotocols), "binary.ircv3.net");
}

TEST(WsFraming, InvalidUtf8IsReplaced) {
  EXPECT_EQ(ws::to_valid_utf8("plain"), "plain");
  EXPECT_EQ(ws::to_valid_utf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(ws::to_valid_utf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(ws::to_valid_utf8("\xC3"), "\xEF\xBF\xBD");                 // cut sequence
  EXPECT_EQ(ws::to_valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_EQ(ws::to_valid_utf8("\xF0\x9F\x98\x80!"), "\xF0\x9F\x98\x80!");
}
