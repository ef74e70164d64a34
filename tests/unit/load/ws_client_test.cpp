// The client side of RFC 6455 behind `sockit load irc --websocket` (src/tools/load/ws_client.hpp):
// the upgrade request, the check of the server's 101, masked frames out, server frames in.
#include "tools/load/ws_client.hpp"

#include "sockit/ws/handshake.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace wsc = sockit::load::wsc;

namespace {

std::string answer_for(const std::string& key, const std::string& protocol = "text.ircv3.net") {
  std::string a = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: " + sockit::ws::accept_key(key) + "\r\n";
  if (!protocol.empty()) a += "Sec-WebSocket-Protocol: " + protocol + "\r\n";
  return a + "\r\n";
}

// The server's parser accepts the request the client writes (the same code that serves browsers).
TEST(LoadWsClient, UpgradeRequestIsAcceptedByTheServerSide) {
  const std::string key = wsc::make_key();
  EXPECT_EQ(key.size(), 24u);
  EXPECT_NE(key, wsc::make_key());
  const std::string req = wsc::upgrade_request("127.0.0.1:8080", "/", key, "binary.ircv3.net");
  sockit::ws::Request r;
  std::size_t used = 0;
  ASSERT_EQ(sockit::ws::parse_request(req, 8192, r, used), sockit::ws::ParseStatus::done);
  EXPECT_EQ(used, req.size());
  sockit::ws::Policy policy{{}, {"text.ircv3.net", "binary.ircv3.net"}};
  const auto a = sockit::ws::answer(r, policy);
  EXPECT_EQ(a.status, 101) << a.reason;
  EXPECT_EQ(a.subprotocol, "binary.ircv3.net");
  // ... and the client accepts the server's answer, frames after it left alone.
  std::string why;
  used = 0;
  EXPECT_EQ(wsc::check_answer(a.response + "\x81", key, "binary.ircv3.net", used, why), wsc::Status::ok) << why;
  EXPECT_EQ(used, a.response.size());
}

TEST(LoadWsClient, AnswerIsCheckedWholeAndBounded) {
  const std::string key = wsc::make_key();
  std::string why;
  std::size_t used = 0;
  const std::string good = answer_for(key);
  EXPECT_EQ(wsc::check_answer(good.substr(0, good.size() - 1), key, "text.ircv3.net", used, why),
            wsc::Status::incomplete);
  EXPECT_EQ(wsc::check_answer(good, key, "text.ircv3.net", used, why), wsc::Status::ok) << why;
  EXPECT_EQ(wsc::check_answer(answer_for(key, ""), key, "", used, why), wsc::Status::ok) << why;

  EXPECT_EQ(wsc::check_answer(answer_for(wsc::make_key()), key, "text.ircv3.net", used, why), wsc::Status::bad);
  EXPECT_NE(why.find("Sec-WebSocket-Accept"), std::string::npos) << why;
  EXPECT_EQ(wsc::check_answer(good, key, "binary.ircv3.net", used, why), wsc::Status::bad);
  EXPECT_NE(why.find("subprotocol"), std::string::npos) << why;
  EXPECT_EQ(wsc::check_answer("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", key, "", used, why),
            wsc::Status::bad);
  EXPECT_NE(why.find("403 Forbidden"), std::string::npos) << why;
  EXPECT_EQ(wsc::check_answer(":irc.example NOTICE * :hello\r\n", key, "", used, why), wsc::Status::incomplete);
  EXPECT_EQ(wsc::check_answer(std::string(wsc::kMaxAnswer + 1, 'x'), key, "", used, why), wsc::Status::bad);
}

// Frames the client writes are masked; unmasking gives the payload back (lengths 7, 16 and 64 bits).
TEST(LoadWsClient, FramesOutAreMaskedWithEachLengthForm) {
  for (const std::size_t n : {std::size_t{0}, std::size_t{125}, std::size_t{126}, std::size_t{65535}, std::size_t{65536}}) {
    std::string payload(n, '\0');
    for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>('a' + i % 26);
    std::string out = "prefix";
    wsc::append_frame(out, wsc::kText, payload, 0x11223344);
    const auto* p = reinterpret_cast<const unsigned char*>(out.data()) + 6;
    EXPECT_EQ(p[0], 0x81);
    ASSERT_TRUE(p[1] & 0x80) << "masked";
    std::size_t len = p[1] & 0x7f, head = 2;
    if (len == 126) len = (std::size_t{p[2]} << 8) | p[3], head = 4;
    else if (len == 127) {
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      head = 10;
    }
    EXPECT_EQ(len, n);
    const unsigned char key[4] = {0x11, 0x22, 0x33, 0x44};
    ASSERT_EQ(out.size(), 6 + head + 4 + n);
    EXPECT_EQ(0, std::memcmp(p + head, key, 4));
    std::string back(n, '\0');
    for (std::size_t i = 0; i < n; ++i) back[i] = static_cast<char>(p[head + 4 + i] ^ key[i & 3]);
    EXPECT_EQ(back, payload);
  }
  wsc::Masks m;
  EXPECT_NE(m.next(), m.next());
}

TEST(LoadWsClient, ServerFramesAreParsedAndProtocolErrorsRefused) {
  wsc::Frame f;
  std::size_t used = 0;
  std::string why;
  const std::string text = std::string("\x81\x05hello", 7) + "\x89";
  EXPECT_EQ(wsc::parse_frame(text.substr(0, 1), 100, f, used, why), wsc::Status::incomplete);
  EXPECT_EQ(wsc::parse_frame(text.substr(0, 6), 100, f, used, why), wsc::Status::incomplete);
  ASSERT_EQ(wsc::parse_frame(text, 100, f, used, why), wsc::Status::ok);
  EXPECT_TRUE(f.fin);
  EXPECT_EQ(f.opcode, wsc::kText);
  EXPECT_EQ(f.payload, "hello");
  EXPECT_EQ(used, 7u);
  const std::string mid(std::string("\x7e\x01\x00", 3) + std::string(256, 'y'));
  ASSERT_EQ(wsc::parse_frame("\x02" + mid, 1000, f, used, why), wsc::Status::ok);  // not final, 16-bit length
  EXPECT_FALSE(f.fin);
  EXPECT_EQ(f.payload.size(), 256u);
  EXPECT_EQ(wsc::parse_frame("\x82" + mid, 255, f, used, why), wsc::Status::bad);  // over the limit
  EXPECT_EQ(wsc::parse_frame(std::string("\x81\x85\0\0\0\0hello", 11), 100, f, used, why), wsc::Status::bad);
  EXPECT_NE(why.find("masked"), std::string::npos);
  EXPECT_EQ(wsc::parse_frame(std::string("\xc1\x00", 2), 100, f, used, why), wsc::Status::bad);  // RSV1
  EXPECT_EQ(wsc::parse_frame(std::string("\x83\x00", 2), 100, f, used, why), wsc::Status::bad);  // opcode 3
  EXPECT_EQ(wsc::parse_frame(std::string("\x09\x00", 2), 100, f, used, why), wsc::Status::bad);  // fragmented ping
  EXPECT_EQ(wsc::parse_frame(std::string("\x89\x7e\x00\x80", 4), 1000, f, used, why), wsc::Status::bad);  // long ping
}

}  // namespace
