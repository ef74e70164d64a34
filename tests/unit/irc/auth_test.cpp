// Password checks (issue #24 item 1): one reply for an unknown operator and a wrong password, a
// failure's reply delayed more after each failure of the connection or its address, and the
// client's later lines held until the verdict. Fake clock, no sockets (the checks run inline:
// FakePeer has no waker).
#include "fake_peer.hpp"

#include "sockit/irc/password.hpp"
#include "sockit/irc/scram.hpp"

#include <gtest/gtest.h>

using namespace sockit::irc;
using namespace sockit::irc::test;
using namespace std::chrono_literals;
using H = Harness;

namespace {
Config with_operator() {
  Config cfg = quiet();
  cfg.operators.push_back({"root", hash_password("pw", 1000).value(), "*"});
  cfg.operators.push_back({"admin", hash_password("other", 1000).value(), "nobody!*@10.0.0.1"});
  return cfg;
}
}  // namespace

TEST(IrcAuth, UnknownOperatorWrongHostAndWrongPasswordGetTheSameReply) {
  H h(with_operator());
  auto& a = h.user("alice", "127.0.0.1");
  auto& b = h.user("bob", "127.0.0.2");
  auto& c = h.user("carol", "127.0.0.3");
  h.send(a, "OPER nobody pw");    // no such name
  h.send(b, "OPER root wrong");   // wrong password
  h.send(c, "OPER admin other");  // right password, host not allowed
  h.advance(h.cfg.auth_fail_delay);
  std::vector<std::string> replies;
  for (auto* cli : {&a, &b, &c}) {
    auto lines = cli->take();
    ASSERT_EQ(lines.size(), 1u);
    replies.push_back(lines[0].substr(lines[0].find(' ', lines[0].find(' ') + 1)));  // after the nick
  }
  EXPECT_EQ(replies[0], " alice :Invalid oper credentials");
  EXPECT_EQ(replies[1], " bob :Invalid oper credentials");
  EXPECT_EQ(replies[2], " carol :Invalid oper credentials");
  h.check();
}

TEST(IrcAuth, FailureRepliesWaitLongerAfterEachFailureOfTheConnectionAndTheAddress) {
  H h(with_operator());
  auto& a = h.user("alice", "10.1.1.1");
  auto& other = h.user("other", "10.2.2.2");
  auto reply_after = [&](H::Cli& c, std::string_view line) {
    h.send(c, line);
    std::chrono::milliseconds waited{0};
    while (c.peer->out.empty() && waited < 60s) {
      h.advance(100ms);
      waited += 100ms;
    }
    c.take();
    return waited;
  };
  EXPECT_EQ(reply_after(a, "OPER root x"), 1000ms);
  EXPECT_EQ(reply_after(a, "OPER root y"), 2000ms);
  EXPECT_EQ(reply_after(a, "OPER root z"), 4000ms);
  // A new connection from the same address starts where the address is (its 4th failure) ...
  auto& again = h.user("again", "10.1.1.1");
  EXPECT_EQ(reply_after(again, "OPER root x"), 8000ms);
  // ... another address does not, and a success is never delayed.
  EXPECT_EQ(reply_after(other, "OPER root x"), 1000ms);
  h.send(a, "OPER root pw");
  EXPECT_TRUE(H::has(a.take(), "381"));
  // The delay is capped.
  for (int i = 0; i < 6; ++i) reply_after(again, "OPER root bad");
  EXPECT_EQ(reply_after(again, "OPER root bad"), std::chrono::duration_cast<std::chrono::milliseconds>(h.cfg.auth_fail_delay_max));
  h.check();
}

TEST(IrcAuth, LinesAfterACheckWaitForItsVerdictAndKeepTheirOrder) {
  H h(with_operator());
  auto& a = h.user("alice");
  h.raw(a, "OPER root wrong\r\nPING :after\r\nOPER root pw\r\nPING :last\r\n");
  EXPECT_TRUE(a.take().empty());
  h.advance(1s);
  auto lines = a.take();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(command_of(lines[0]), "491");
  EXPECT_EQ(lines[1], ":irc.sockit.local PONG irc.sockit.local :after");
  EXPECT_EQ(command_of(lines[2]), "381");
  EXPECT_EQ(command_of(lines[3]), "MODE");
  EXPECT_EQ(lines[4], ":irc.sockit.local PONG irc.sockit.local :last");
}

TEST(IrcAuth, WrongServerPasswordIsAnsweredAfterTheDelayAndNothingAfterItRuns) {
  Config cfg = quiet();
  cfg.password_hash = hash_password("letmein", 1000).value();
  H h(cfg);
  auto& bad = h.connect("10.3.3.3");
  h.raw(bad, "PASS nope\r\nNICK bad\r\nUSER bad 0 * :x\r\nJOIN #x\r\n");
  EXPECT_TRUE(bad.take().empty());
  EXPECT_FALSE(bad.peer->closed);
  h.advance(1s);
  auto lines = bad.take();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(command_of(lines[0]), "464");
  EXPECT_EQ(lines[1], "ERROR :Closing Link: 10.3.3.3 (Bad password)");
  EXPECT_TRUE(bad.peer->closed);
  // The address's next try waits twice as long; the right password from it is not delayed.
  auto& next = h.connect("10.3.3.3");
  h.raw(next, "PASS nope\r\nNICK bad2\r\nUSER bad 0 * :x\r\n");
  h.advance(1999ms);
  EXPECT_TRUE(next.take().empty());
  h.advance(1ms);
  EXPECT_TRUE(H::has(next.take(), "464"));
  auto& good = h.connect("10.3.3.3");
  h.raw(good, "PASS letmein\r\nNICK good\r\nUSER good 0 * :x\r\n");
  EXPECT_TRUE(H::has(good.take(), "001"));
  h.check();
}

// SASL SCRAM-SHA-256's pure parts (sockit/irc/scram.hpp): RFC 7677's test vector end to end, the
// stored form, the parsers' refusals, fake credentials for unknown names.
namespace scram_vectors {

// RFC 7677 section 3: user "user", password "pencil".
constexpr std::string_view kClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kNonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

ScramCredentials rfc_credentials() {
  return scram_derive("pencil", *decode_base64("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
}

}  // namespace scram_vectors

using namespace scram_vectors;

TEST(IrcScram, Rfc7677TestVector) {
  auto first = scram_parse_client_first(kClientFirst);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->user, "user");
  EXPECT_EQ(first->nonce, "rOprNGfwEbeRWgbNEkqO");
  EXPECT_EQ(first->gs2_header, "n,,");
  const ScramCredentials cred = rfc_credentials();
  EXPECT_EQ(scram_server_first(kNonce, cred), kServerFirst);
  auto fin = scram_parse_client_final(kClientFinal);
  ASSERT_TRUE(fin);
  auto v = scram_verify(*first, kServerFirst, kNonce, *fin, cred);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, kServerFinal);
}

TEST(IrcScram, WrongPasswordNonceOrBindingFails) {
  auto first = *scram_parse_client_first(kClientFirst);
  auto fin = *scram_parse_client_final(kClientFinal);
  const ScramCredentials other = scram_derive("pencil2", *decode_base64("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
  EXPECT_FALSE(scram_verify(first, kServerFirst, kNonce, fin, other));
  EXPECT_FALSE(scram_verify(first, kServerFirst, "rOprNGfwEbeRWgbNEkqOother", fin, rfc_credentials()));
  auto bad_cb = fin;
  bad_cb.channel_binding = "eSws";  // "y,,": not the header the client sent
  EXPECT_FALSE(scram_verify(first, kServerFirst, kNonce, bad_cb, rfc_credentials()));
  auto flipped = fin;
  flipped.proof[0] = static_cast<char>(flipped.proof[0] ^ 1);
  EXPECT_FALSE(scram_verify(first, kServerFirst, kNonce, flipped, rfc_credentials()));
  // Fake credentials (unknown name) never verify, and are the same for the same name.
  EXPECT_FALSE(scram_verify(first, kServerFirst, kNonce, fin, scram_fake("user")));
  EXPECT_EQ(scram_fake("Nobody").salt, scram_fake("nobody").salt);
  EXPECT_NE(scram_fake("nobody").salt, scram_fake("someone").salt);
  EXPECT_EQ(scram_fake("nobody").iterations, kScramIterations);
}

TEST(IrcScram, ParsersRefuseMalformedMessages) {
  EXPECT_FALSE(scram_parse_client_first(""));
  EXPECT_FALSE(scram_parse_client_first("p=tls-unique,,n=user,r=abc"));  // channel binding: no -PLUS
  EXPECT_FALSE(scram_parse_client_first("n,,r=abc,n=user"));
  EXPECT_FALSE(scram_parse_client_first("n,,n=user"));
  EXPECT_FALSE(scram_parse_client_first("n,,n=us=er,r=abc"));
  EXPECT_FALSE(scram_parse_client_first("n,,n=user,r=abc,m=ext"));
  EXPECT_FALSE(scram_parse_client_first("n,a=admin,n=user,r=abc"));  // acting as someone else
  auto ok = scram_parse_client_first("y,a=u=2Cx,n=u=2Cx,r=abc");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->user, "u,x");
  EXPECT_FALSE(scram_parse_client_final("c=biws,r=abc"));
  EXPECT_FALSE(scram_parse_client_final("c=biws,r=abc,p=notbase64!"));
  EXPECT_FALSE(scram_parse_client_final("c=biws,r=abc,p=AAAA"));  // not 32 bytes
  EXPECT_FALSE(scram_parse_client_final("r=abc,c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
}

TEST(IrcScram, StoredFormRoundTripsAndRejectsGarbage) {
  const ScramCredentials c = rfc_credentials();
  const std::string text = scram_encode(c);
  EXPECT_EQ(text.rfind("SCRAM-SHA-256$4096$W22ZaJ0SNY7soEsUEjb6gQ==$", 0), 0u) << text;
  auto back = scram_parse(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->salt, c.salt);
  EXPECT_EQ(back->stored_key, c.stored_key);
  EXPECT_EQ(back->server_key, c.server_key);
  EXPECT_FALSE(scram_parse(""));
  EXPECT_FALSE(scram_parse("SCRAM-SHA-256$0$AAAA$AAAA$AAAA"));
  EXPECT_FALSE(scram_parse("pbkdf2-sha256$4096$aa$bb"));
  const ScramCredentials fresh = scram_new("a fine password");
  EXPECT_EQ(fresh.iterations, kScramIterations);
  EXPECT_EQ(fresh.salt.size(), 16u);
  EXPECT_NE(scram_new("a fine password").salt, fresh.salt);
}
