// The ss filter language: a recursive-descent parser and a tree evaluator.
#include "filter.hpp"

#include "sockit/net/address.hpp"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

namespace sockit::ss {
namespace {

Error bad(std::string message) {
  return Error(std::make_error_code(std::errc::invalid_argument), std::move(message));
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

}  // namespace

Result<StateMask> parse_state(std::string_view name) {
  const std::string n = lower(name);
  auto b = [](State s) { return state_bit(s); };
  struct Named {
    const char* name;
    StateMask mask;
  };
  static const Named kNames[] = {
      {"established", b(State::established)},
      {"syn-sent", b(State::syn_sent)},
      {"syn-recv", b(State::syn_recv)},
      {"syn-rcv", b(State::syn_recv)},
      {"fin-wait-1", b(State::fin_wait1)},
      {"fin-wait-2", b(State::fin_wait2)},
      {"time-wait", b(State::time_wait)},
      {"closed", b(State::close)},
      {"close", b(State::close)},
      {"unconnected", b(State::close)},
      {"close-wait", b(State::close_wait)},
      {"last-ack", b(State::last_ack)},
      {"listening", b(State::listen)},
      {"listen", b(State::listen)},
      {"closing", b(State::closing)},
      {"all", kAllStates},
      {"connected", kAllStates & ~(b(State::close) | b(State::listen))},
      {"synchronized", kAllStates & ~(b(State::close) | b(State::listen) | b(State::syn_sent))},
      {"bucket", b(State::syn_recv) | b(State::time_wait)},
      {"big", kAllStates & ~(b(State::syn_recv) | b(State::time_wait))},
  };
  for (const auto& e : kNames)
    if (n == e.name) return e.mask;
  return bad("wrong state name: " + std::string(name));
}

// ---- expression tree ----------------------------------------------------------------------------

struct Expression::Node {
  enum class Kind { and_, or_, not_, port, host } kind;
  std::unique_ptr<Node> left, right;  // and/or: both; not: left
  // port condition
  bool remote = false;                // dport/dst vs sport/src
  enum class Cmp { eq, ge, le } cmp = Cmp::eq;
  int port = -1;                      // -1 = any
  // host condition
  int family = 0;                     // AF_INET / AF_INET6 / AF_UNIX / 0 (port only)
  std::array<std::uint8_t, 16> addr{};
  int prefix_len = 0;
  std::string pattern;                // unix fnmatch pattern
};

Expression::Expression() = default;
Expression::~Expression() = default;
Expression::Expression(Expression&&) noexcept = default;
Expression& Expression::operator=(Expression&&) noexcept = default;

namespace {

using Node = Expression::Node;
using NodePtr = std::unique_ptr<Node>;

NodePtr make(Node::Kind k, NodePtr l = nullptr, NodePtr r = nullptr) {
  auto n = std::make_unique<Node>();
  n->kind = k;
  n->left = std::move(l);
  n->right = std::move(r);
  return n;
}

bool prefix_match(const std::uint8_t* a, const std::uint8_t* p, int bits) {
  int full = bits / 8;
  if (std::memcmp(a, p, static_cast<std::size_t>(full)) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (p[full] & mask);
}

bool host_matches(const Node& n, const Socket& s) {
  if (n.family == AF_UNIX) {
    if (s.family != AF_UNIX) return false;
    if (n.remote) return n.pattern.empty() || ::fnmatch(n.pattern.c_str(), "", 0) == 0;  // peers have no name
    std::string path = s.path.value_or("");
    return ::fnmatch(n.pattern.c_str(), path.c_str(), 0) == 0;
  }
  int port = n.remote ? s.peer_port : s.local_port;
  if (s.family == AF_UNIX) port = static_cast<int>(n.remote ? s.peer_inode : s.inode);
  if (n.port != -1 && n.port != port) return false;
  if (n.family == 0 || n.prefix_len == 0) return n.family == 0 || s.family != AF_UNIX;
  if (s.family == AF_UNIX) return false;
  const auto& a = n.remote ? s.peer_addr : s.local_addr;
  if (n.family == s.family) return prefix_match(a.data(), n.addr.data(), n.prefix_len);
  if (n.family == AF_INET && s.family == AF_INET6) {
    // A v4 rule also matches v4-mapped addresses (::ffff:a.b.c.d), as in ss.
    static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a.data(), kMapped, 12) != 0) return false;
    return prefix_match(a.data() + 12, n.addr.data(), n.prefix_len);
  }
  return false;
}

bool eval(const Node& n, const Socket& s) {
  switch (n.kind) {
    case Node::Kind::and_: return eval(*n.left, s) && eval(*n.right, s);
    case Node::Kind::or_: return eval(*n.left, s) || eval(*n.right, s);
    case Node::Kind::not_: return !eval(*n.left, s);
    case Node::Kind::port: {
      int port = n.remote ? s.peer_port : s.local_port;
      if (s.family == AF_UNIX) port = static_cast<int>(n.remote ? s.peer_inode : s.inode);
      switch (n.cmp) {
        case Node::Cmp::ge: return port >= n.port;
        case Node::Cmp::le: return port <= n.port;
        case Node::Cmp::eq: return n.port == -1 || port == n.port;
      }
      return false;
    }
    case Node::Kind::host: return host_matches(n, s);
  }
  return false;
}

std::string addr_text(const Node& n) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(n.family, n.addr.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(n.prefix_len);
}

std::string describe_node(const Node& n) {
  switch (n.kind) {
    case Node::Kind::and_: return "(" + describe_node(*n.left) + " and " + describe_node(*n.right) + ")";
    case Node::Kind::or_: return "(" + describe_node(*n.left) + " or " + describe_node(*n.right) + ")";
    case Node::Kind::not_: return "not " + describe_node(*n.left);
    case Node::Kind::port: {
      const char* op = n.cmp == Node::Cmp::eq ? "=" : n.cmp == Node::Cmp::ge ? ">=" : "<=";
      return std::string(n.remote ? "dport " : "sport ") + op + " " + (n.port < 0 ? "*" : std::to_string(n.port));
    }
    case Node::Kind::host: {
      std::string r = n.remote ? "dst " : "src ";
      if (n.family == AF_UNIX) return r + "unix:" + n.pattern;
      r += n.family == 0 ? "*" : addr_text(n);
      if (n.port >= 0) r += ":" + std::to_string(n.port);
      return r;
    }
  }
  return "?";
}

Result<int> parse_port(std::string_view text) {
  std::string p(text);
  if (!p.empty() && p[0] == ':') p.erase(0, 1);
  if (p.empty()) return bad("a port is expected after ':'");
  if (p == "*") return -1;
  if (auto port = Address::parse_port(p)) return static_cast<int>(*port);  // the one port parser (and services)
  if (std::all_of(p.begin(), p.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return bad("port out of range: " + p);
  return bad("\"" + p + "\" does not look like a port");
}

/// HOST of src/dst: see the grammar in filter.hpp.
Result<NodePtr> parse_host(std::string_view text, bool remote) {
  auto n = make(Node::Kind::host);
  n->remote = remote;
  std::string t(text);
  if (t.rfind("unix:", 0) == 0 || (!t.empty() && (t[0] == '/' || t[0] == '@'))) {
    n->family = AF_UNIX;
    n->pattern = t.rfind("unix:", 0) == 0 ? t.substr(5) : t;
    return n;
  }
  int want = 0;
  if (t.rfind("inet6:", 0) == 0) { want = AF_INET6; t.erase(0, 6); }
  else if (t.rfind("inet:", 0) == 0) { want = AF_INET; t.erase(0, 5); }

  std::string host, port;
  if (!t.empty() && t[0] == '[') {
    auto close = t.find(']');
    if (close == std::string::npos) return bad("missing ']' in \"" + std::string(text) + "\"");
    host = t.substr(1, close - 1);
    std::string rest = t.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return bad("an inet prefix is expected rather than \"" + std::string(text) + "\"");
      port = rest.substr(1);
    }
  } else if (std::count(t.begin(), t.end(), ':') > 1) {
    host = t;  // bare IPv6 address (a port needs brackets)
  } else if (auto colon = t.rfind(':'); colon != std::string::npos) {
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
    if (port.empty()) return bad("a port is expected after ':' in \"" + std::string(text) + "\"");
  } else {
    host = t;
  }
  if (!port.empty()) {
    auto p = parse_port(port);
    if (!p) return std::move(p).error();
    n->port = *p;
  }
  if (host.empty() || host == "*") return n;

  std::string addr = host;
  int plen = -1;
  if (auto slash = host.find('/'); slash != std::string::npos) {
    addr = host.substr(0, slash);
    std::string bits = host.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 ||
        !std::all_of(bits.begin(), bits.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      return bad("bad prefix length in \"" + host + "\"");
    plen = std::stoi(bits);
  }
  if (want != AF_INET6 && ::inet_pton(AF_INET, addr.c_str(), n->addr.data()) == 1) {
    n->family = AF_INET;
  } else if (want != AF_INET && ::inet_pton(AF_INET6, addr.c_str(), n->addr.data()) == 1) {
    n->family = AF_INET6;
  } else {
    // ss would ask DNS here; sockit stays numeric (and never blocks on a resolver while filtering).
    return bad("an inet prefix is expected rather than \"" + host + "\"");
  }
  int max = n->family == AF_INET ? 32 : 128;
  if (plen > max) return bad("bad prefix length in \"" + host + "\"");
  n->prefix_len = plen < 0 ? max : plen;
  return n;
}

class Parser {
 public:
  explicit Parser(std::span<const std::string> toks) : toks_(toks) {}

  Result<NodePtr> parse_all() {
    auto e = parse_or();
    if (!e) return e;
    if (pos_ < toks_.size()) return bad("unexpected \"" + toks_[pos_] + "\" in filter");
    return e;
  }

 private:
  bool at_end() const { return pos_ >= toks_.size(); }
  std::string peek() const { return at_end() ? std::string() : lower(toks_[pos_]); }
  static bool is_or(const std::string& t) { return t == "or" || t == "|" || t == "||"; }
  static bool is_and(const std::string& t) { return t == "and" || t == "&" || t == "&&"; }

  Result<NodePtr> parse_or() {
    auto left = parse_and();
    if (!left) return left;
    NodePtr acc = std::move(*left);
    while (!at_end() && is_or(peek())) {
      ++pos_;
      auto right = parse_and();
      if (!right) return right;
      acc = make(Node::Kind::or_, std::move(acc), std::move(*right));
    }
    return acc;
  }

  Result<NodePtr> parse_and() {
    auto left = parse_not();
    if (!left) return left;
    NodePtr acc = std::move(*left);
    for (;;) {
      if (at_end()) break;
      std::string t = peek();
      if (is_or(t) || t == ")") break;
      if (is_and(t)) ++pos_;  // otherwise an implicit "and", as in ss
      auto right = parse_not();
      if (!right) return right;
      acc = make(Node::Kind::and_, std::move(acc), std::move(*right));
    }
    return acc;
  }

  Result<NodePtr> parse_not() {
    std::string t = peek();
    if (t == "not" || t == "!") {
      ++pos_;
      auto inner = parse_not();
      if (!inner) return inner;
      return make(Node::Kind::not_, std::move(*inner));
    }
    return parse_primary();
  }

  Result<NodePtr> parse_primary() {
    if (at_end()) return bad("filter expression ends too early");
    std::string t = peek();
    if (t == "(") {
      ++pos_;
      auto inner = parse_or();
      if (!inner) return inner;
      if (peek() != ")") return bad("missing ')' in filter");
      ++pos_;
      return inner;
    }
    if (t == "sport" || t == "dport" || t == "src" || t == "dst") {
      ++pos_;
      bool remote = t[0] == 'd';
      bool is_port = t == "sport" || t == "dport";
      std::string op = "=";
      std::string o = peek();
      static const char* kOps[] = {"=", "==", "eq", "!=", "ne", "neq", ">", "gt", "<", "lt", ">=", "ge", "<=", "le"};
      if (std::find_if(std::begin(kOps), std::end(kOps), [&](const char* k) { return o == k; }) != std::end(kOps)) {
        op = o;
        ++pos_;
      }
      if (op == "==" || op == "eq") op = "=";
      if (op == "ne" || op == "neq") op = "!=";
      if (op == "gt") op = ">";
      if (op == "lt") op = "<";
      if (op == "ge") op = ">=";
      if (op == "le") op = "<=";
      if (at_end()) return bad("\"" + t + " " + op + "\" needs a value");
      const std::string& value = toks_[pos_++];
      NodePtr cond;
      if (is_port) {
        auto p = parse_port(value);
        if (!p) return std::move(p).error();
        cond = make(Node::Kind::port);
        cond->remote = remote;
        cond->port = *p;
        if (*p < 0 && op != "=" && op != "!=") return bad("'*' cannot be compared with " + op);
        if (op == ">=" ) cond->cmp = Node::Cmp::ge;
        if (op == "<=") cond->cmp = Node::Cmp::le;
        if (op == ">") { cond->cmp = Node::Cmp::le; return make(Node::Kind::not_, std::move(cond)); }
        if (op == "<") { cond->cmp = Node::Cmp::ge; return make(Node::Kind::not_, std::move(cond)); }
      } else {
        if (op != "=" && op != "!=") return bad("\"" + t + "\" takes = or !=, not " + op);
        auto h = parse_host(value, remote);
        if (!h) return h;
        cond = std::move(*h);
      }
      if (op == "!=") return make(Node::Kind::not_, std::move(cond));
      return cond;
    }
    if (t == ")") return bad("unexpected ')' in filter");
    return bad("unknown filter keyword \"" + toks_[pos_] + "\" (expected sport, dport, src, dst, not, '(')");
  }

  std::span<const std::string> toks_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<Expression> Expression::parse(std::span<const std::string> tokens) {
  Expression e;
  if (tokens.empty()) return e;
  auto root = Parser(tokens).parse_all();
  if (!root) return std::move(root).error();
  e.root_ = std::move(*root);
  return e;
}

bool Expression::matches(const Socket& s) const { return !root_ || eval(*root_, s); }

std::string Expression::describe() const { return root_ ? describe_node(*root_) : std::string(); }

std::vector<std::string> tokenize(std::span<const std::string> words) {
  std::vector<std::string> out;
  for (const auto& w : words) {
    std::size_t i = 0;
    while (i < w.size()) {
      while (i < w.size() && std::isspace(static_cast<unsigned char>(w[i]))) ++i;
      if (i >= w.size()) break;
      std::size_t j = i;
      while (j < w.size() && !std::isspace(static_cast<unsigned char>(w[j]))) ++j;
      std::string tok = w.substr(i, j - i);
      i = j;
      // Peel parentheses and a leading '!' (but not "!=") off the word.
      std::vector<std::string> tail;
      while (!tok.empty() && (tok[0] == '(' || (tok[0] == '!' && tok.rfind("!=", 0) != 0)) && tok.size() > 1) {
        out.emplace_back(1, tok[0]);
        tok.erase(0, 1);
      }
      while (tok.size() > 1 && tok.back() == ')') {
        tail.emplace_back(")");
        tok.pop_back();
      }
      out.push_back(tok);
      out.insert(out.end(), tail.begin(), tail.end());
    }
  }
  return out;
}

Result<Filter> parse_filter(std::span<const std::string> words) {
  std::vector<std::string> toks = tokenize(words);
  Filter f;
  std::size_t i = 0;
  while (i < toks.size()) {
    std::string t = lower(toks[i]);
    if (t != "state" && t != "exclude" && t != "excl") break;
    if (i + 1 >= toks.size()) return bad("\"" + toks[i] + "\" needs a state name");
    auto m = parse_state(toks[i + 1]);
    if (!m) return std::move(m).error();
    if (t == "state") f.states = f.states.value_or(0) | *m;
    else f.states = f.states.value_or(kAllStates) & ~*m;
    i += 2;
  }
  auto e = Expression::parse(std::span<const std::string>(toks).subspan(i));
  if (!e) return std::move(e).error();
  f.expression = std::move(*e);
  return f;
}

}  // namespace sockit::ss
