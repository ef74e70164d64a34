// The ss filter language: state names and groups, expressions, and their evaluation.
#include "tools/ss/filter.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <vector>

namespace sockit::ss {
namespace {

Socket inet4(const char* local, std::uint16_t lport, const char* peer, std::uint16_t pport,
             State st = State::established) {
  Socket s;
  s.family = AF_INET;
  s.state = st;
  ::inet_pton(AF_INET, local, s.local_addr.data());
  ::inet_pton(AF_INET, peer, s.peer_addr.data());
  s.local_port = lport;
  s.peer_port = pport;
  return s;
}

Socket inet6(const char* local, std::uint16_t lport, const char* peer, std::uint16_t pport) {
  Socket s;
  s.family = AF_INET6;
  s.state = State::established;
  ::inet_pton(AF_INET6, local, s.local_addr.data());
  ::inet_pton(AF_INET6, peer, s.peer_addr.data());
  s.local_port = lport;
  s.peer_port = pport;
  return s;
}

Expression expr(const std::string& text) {
  std::vector<std::string> words{text};
  auto toks = tokenize(words);
  auto e = Expression::parse(toks);
  EXPECT_TRUE(e.ok()) << text << ": " << (e.ok() ? "" : e.error().context());
  return e.ok() ? std::move(*e) : Expression();
}

std::string parse_error(const std::string& text) {
  std::vector<std::string> words{text};
  auto f = parse_filter(words);
  return f.ok() ? std::string("(parsed)") : f.error().context();
}

TEST(SsState, SingleNamesMapToKernelBits) {
  EXPECT_EQ(*parse_state("established"), state_bit(State::established));
  EXPECT_EQ(*parse_state("time-wait"), state_bit(State::time_wait));
  EXPECT_EQ(*parse_state("CLOSE-WAIT"), state_bit(State::close_wait));
  EXPECT_EQ(*parse_state("listening"), state_bit(State::listen));
  EXPECT_EQ(*parse_state("syn-rcv"), state_bit(State::syn_recv));
  EXPECT_EQ(*parse_state("closed"), state_bit(State::close));
  EXPECT_EQ(*parse_state("fin-wait-2"), state_bit(State::fin_wait2));
}

TEST(SsState, GroupsMatchIproute2Definitions) {
  StateMask connected = *parse_state("connected");
  EXPECT_FALSE(connected & state_bit(State::listen));
  EXPECT_FALSE(connected & state_bit(State::close));
  EXPECT_TRUE(connected & state_bit(State::time_wait));
  EXPECT_TRUE(connected & state_bit(State::syn_sent));
  StateMask synchronized = *parse_state("synchronized");
  EXPECT_EQ(synchronized, connected & ~state_bit(State::syn_sent));
  EXPECT_EQ(*parse_state("bucket"), state_bit(State::syn_recv) | state_bit(State::time_wait));
  EXPECT_EQ(*parse_state("big"), kAllStates & ~(state_bit(State::syn_recv) | state_bit(State::time_wait)));
  EXPECT_EQ(*parse_state("all"), kAllStates);
}

TEST(SsState, UnknownNameIsAnErrorNamingIt) {
  auto r = parse_state("establishd");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().context(), "wrong state name: establishd");
}

TEST(SsFilter, StateClausesAccumulateAndExcludeStartsFromAll) {
  std::vector<std::string> w{"state", "established", "state", "time-wait"};
  auto f = parse_filter(w);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f->states, state_bit(State::established) | state_bit(State::time_wait));
  std::vector<std::string> x{"exclude", "bucket"};
  auto g = parse_filter(x);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g->states, kAllStates & ~(state_bit(State::syn_recv) | state_bit(State::time_wait)));
  EXPECT_TRUE(g->expression.empty());
}

TEST(SsFilter, StateFollowedByExpression) {
  std::vector<std::string> w{"state", "listening", "(", "sport", "=", ":80", ")"};
  auto f = parse_filter(w);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f->states, state_bit(State::listen));
  EXPECT_EQ(f->expression.describe(), "sport = 80");
}

TEST(SsFilter, PortOperatorsAndSpellings) {
  EXPECT_EQ(expr("sport = :80").describe(), "sport = 80");
  EXPECT_EQ(expr("dport == :6667").describe(), "dport = 6667");
  EXPECT_EQ(expr("dport eq 6667").describe(), "dport = 6667");
  EXPECT_EQ(expr("sport > :1024").describe(), "not sport <= 1024");
  EXPECT_EQ(expr("sport gt :1024").describe(), "not sport <= 1024");
  EXPECT_EQ(expr("sport >= :1024").describe(), "sport >= 1024");
  EXPECT_EQ(expr("dport < 100").describe(), "not dport >= 100");
  EXPECT_EQ(expr("dport != :22").describe(), "not dport = 22");
}

TEST(SsFilter, AndBindsTighterThanOrAndParenthesesGroup) {
  EXPECT_EQ(expr("sport = :1 or sport = :2 and dport = :3").describe(), "(sport = 1 or (sport = 2 and dport = 3))");
  EXPECT_EQ(expr("( sport = :1 or sport = :2 ) dport = :3").describe(), "((sport = 1 or sport = 2) and dport = 3)");
  EXPECT_EQ(expr("(sport = :1 || sport = :2) && !dport = :3").describe(),
            "((sport = 1 or sport = 2) and not dport = 3)");
  EXPECT_EQ(expr("not ( src 127.0.0.1 )").describe(), "not src 127.0.0.1/32");
}

TEST(SsFilter, HostForms) {
  EXPECT_EQ(expr("src 127.0.0.1").describe(), "src 127.0.0.1/32");
  EXPECT_EQ(expr("dst 127.0.0.1:80").describe(), "dst 127.0.0.1/32:80");
  EXPECT_EQ(expr("dst 10.0.0.0/8").describe(), "dst 10.0.0.0/8");
  EXPECT_EQ(expr("dst [::1]:80").describe(), "dst ::1/128:80");
  EXPECT_EQ(expr("src ::1").describe(), "src ::1/128");
  EXPECT_EQ(expr("src *:22").describe(), "src *:22");
  EXPECT_EQ(expr("src :22").describe(), "src *:22");
  EXPECT_EQ(expr("src unix:/tmp/*.sock").describe(), "src unix:/tmp/*.sock");
}

TEST(SsFilter, MatchesPortsAddressesAndPrefixes) {
  Socket s = inet4("127.0.0.1", 40000, "10.1.2.3", 80);
  EXPECT_TRUE(expr("dport = :80").matches(s));
  EXPECT_FALSE(expr("sport = :80").matches(s));
  EXPECT_TRUE(expr("sport > :1024").matches(s));
  EXPECT_FALSE(expr("sport < :1024").matches(s));
  EXPECT_TRUE(expr("dst 10.0.0.0/8").matches(s));
  EXPECT_FALSE(expr("dst 10.0.0.0/16").matches(s));
  EXPECT_TRUE(expr("dst 10.1.2.3:80").matches(s));
  EXPECT_FALSE(expr("dst 10.1.2.3:81").matches(s));
  EXPECT_TRUE(expr("src 127.0.0.1 and dport = :80").matches(s));
  EXPECT_FALSE(expr("src 127.0.0.1 and not dport = :80").matches(s));
  EXPECT_TRUE(expr("sport = :1 or dport = :80").matches(s));
}

TEST(SsFilter, V4RuleMatchesV4MappedV6Socket) {
  Socket s = inet6("::ffff:127.0.0.1", 8080, "::ffff:127.0.0.1", 5555);
  EXPECT_TRUE(expr("src 127.0.0.1").matches(s));
  EXPECT_FALSE(expr("src 127.0.0.2").matches(s));
  Socket plain = inet6("::1", 8080, "::1", 5555);
  EXPECT_FALSE(expr("src 127.0.0.1").matches(plain));
  EXPECT_TRUE(expr("src [::1]:8080").matches(plain));
}

TEST(SsFilter, UnixGlobMatchesPath) {
  Socket s;
  s.family = AF_UNIX;
  s.netid = Netid::unix_stream;
  s.path = "/tmp/app.sock";
  EXPECT_TRUE(expr("src unix:/tmp/*.sock").matches(s));
  EXPECT_FALSE(expr("src unix:/run/*").matches(s));
  EXPECT_FALSE(expr("src unix:/tmp/*").matches(inet4("127.0.0.1", 1, "127.0.0.1", 2)));
}

TEST(SsFilter, TokenizerSplitsParenthesesAndQuotedStrings) {
  std::vector<std::string> w{"(sport = :80 or", "dport = :80)", "!(src", "1.2.3.4)"};
  auto t = tokenize(w);
  std::vector<std::string> want{"(", "sport", "=", ":80", "or", "dport", "=", ":80", ")",
                                "!", "(", "src", "1.2.3.4", ")"};
  EXPECT_EQ(t, want);
  std::vector<std::string> ne{"dport", "!=", ":22"};
  EXPECT_EQ(tokenize(ne), ne);
}

TEST(SsFilter, ServiceNamesAreAccepted) {
  EXPECT_EQ(expr("dport = :ssh").describe(), "dport = 22");
}

TEST(SsFilter, BadFiltersGiveOneLineErrors) {
  EXPECT_EQ(parse_error("state"), "\"state\" needs a state name");
  EXPECT_EQ(parse_error("state bogus"), "wrong state name: bogus");
  EXPECT_EQ(parse_error("sport ="), "\"sport =\" needs a value");
  EXPECT_EQ(parse_error("sport = :99999"), "port out of range: 99999");
  EXPECT_EQ(parse_error("sport = :nosuchservice"), "\"nosuchservice\" does not look like a port");
  EXPECT_EQ(parse_error("( sport = :80"), "missing ')' in filter");
  EXPECT_EQ(parse_error("sport = :80 )"), "unexpected \")\" in filter");
  EXPECT_EQ(parse_error("bogus"), "unknown filter keyword \"bogus\" (expected sport, dport, src, dst, not, '(')");
  EXPECT_EQ(parse_error("src not.an.address"), "an inet prefix is expected rather than \"not.an.address\"");
  EXPECT_EQ(parse_error("src 10.0.0.0/33"), "bad prefix length in \"10.0.0.0/33\"");
  EXPECT_EQ(parse_error("src > 1.2.3.4"), "\"src\" takes = or !=, not >");
  EXPECT_EQ(parse_error("sport = :80 or"), "filter expression ends too early");
}

}  // namespace
}  // namespace sockit::ss
