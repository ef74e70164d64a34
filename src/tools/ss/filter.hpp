// Internal header of `sockit ss`: the ss filter language.
//
//   FILTER := [ state STATE | exclude STATE ]... [ EXPRESSION ]
//   EXPRESSION := EXPR { [and|&|&&] EXPR | (or|'|'|'||') EXPR }     (and binds tighter than or)
//   EXPR := '(' EXPRESSION ')' | (not|!) EXPR
//         | (sport|dport) [=|==|eq|!=|ne|>|gt|<|lt|>=|ge|<=|le] PORT     PORT: ":80", "80", ":http", "*"
//         | (src|dst) [=|==|eq|!=|ne] HOST    HOST: 127.0.0.1, 10.0.0.0/8, 127.0.0.1:80, [::1]:80,
//                                              *:80, :80, unix:/tmp/*.sock (fnmatch on the path)
// Words may be separate argv entries or one quoted string; parentheses may touch their neighbours.
#pragma once

#include "diag.hpp"

#include "sockit/net/result.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::ss {

/// A state name or group of `ss state X`: established, syn-sent, syn-recv, fin-wait-1, fin-wait-2,
/// time-wait, close-wait, last-ack, listening, closing, closed (= unconnected), and the groups
/// all, connected, synchronized, bucket, big. Case-insensitive.
/// Error (invalid_argument) "wrong state name: X" otherwise.
Result<StateMask> parse_state(std::string_view name);

/// A parsed expression; the empty expression matches everything. Immutable once built; cheap to
/// evaluate (a small tree walk per socket).
class Expression {
 public:
  struct Node;
  Expression();
  ~Expression();
  Expression(Expression&&) noexcept;
  Expression& operator=(Expression&&) noexcept;
  Expression(const Expression&) = delete;
  Expression& operator=(const Expression&) = delete;

  /// Parses tokens (see the grammar above). Errors (invalid_argument) carry a one-line message.
  static Result<Expression> parse(std::span<const std::string> tokens);

  bool empty() const noexcept { return root_ == nullptr; }
  bool matches(const Socket& s) const;
  /// Canonical text of the parsed tree, for tests and --help debugging: "(sport = 80 and ...)".
  std::string describe() const;

 private:
  std::unique_ptr<Node> root_;
};

struct Filter {
  std::optional<StateMask> states;  ///< set when `state`/`exclude` appeared
  Expression expression;
};

/// Splits argv words into filter tokens: "(sport" -> "(", "sport"; "a b" -> "a", "b".
std::vector<std::string> tokenize(std::span<const std::string> words);
/// Parses the positional words of `sockit ss`: leading state/exclude clauses, then an expression.
Result<Filter> parse_filter(std::span<const std::string> words);

}  // namespace sockit::ss
