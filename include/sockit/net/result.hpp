// Public header. Result<T>: either a value or an Error (std::error_code + short context).
//
//   Result<TcpStream> s = TcpStream::connect(addr, Deadline::after(2s));
//   if (!s) { fmt::print(stderr, "{}\n", s.error().message()); return 1; }
//     // -> "connect 127.0.0.1:9: Connection refused"
//   if (s.error() == std::errc::timed_out) ...
//
// No exceptions cross the library API. Result is [[nodiscard]] and never default-constructs T.
#pragma once

#include "sockit/net/error.hpp"

#include <cassert>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace sockit {

/// An error code plus the operation and operand that failed ("connect 127.0.0.1:9").
class Error {
 public:
  Error() = default;
  Error(std::error_code code, std::string context = {}) : code_(code), context_(std::move(context)) {}
  template <class E, std::enable_if_t<std::is_error_code_enum_v<E> || std::is_error_condition_enum_v<E>, int> = 0>
  Error(E e, std::string context = {}) : code_(make_error_code(e)), context_(std::move(context)) {}

  const std::error_code& code() const noexcept { return code_; }
  const std::string& context() const noexcept { return context_; }
  /// "context: reason", or just the reason when there is no context.
  std::string message() const;
  /// Returns a copy with `outer` put in front of the context ("nc: connect ...").
  Error with_context(std::string_view outer) const;

  friend bool operator==(const Error& a, const std::error_code& b) noexcept { return a.code_ == b; }
  friend bool operator==(const Error& a, std::errc b) noexcept { return a.code_ == b; }
  friend bool operator==(const Error& a, sockit::errc b) noexcept { return a.code_ == b; }

 private:
  std::error_code code_;
  std::string context_;
};

/// Shorthand to build a failed Result: `return fail(errno, "bind " + addr.to_string());`
inline Error fail(std::error_code code, std::string context = {}) { return Error(code, std::move(context)); }
Error fail_errno(int err, std::string context);

template <class T>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}
  Result(std::error_code code) : v_(std::in_place_index<1>, Error(code)) {}
  Result(sockit::errc code) : v_(std::in_place_index<1>, Error(code)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  template <class U>
  T value_or(U&& fallback) const& { return ok() ? value() : T(std::forward<U>(fallback)); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }
  /// The error code, or a default (success) code when there is a value.
  std::error_code code() const noexcept { return ok() ? std::error_code{} : std::get<1>(v_).code(); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;
  Result() = default;
  Result(Error error) : err_(std::move(error)), failed_(true) {}
  Result(std::error_code code) : err_(code), failed_(static_cast<bool>(code)) {}
  Result(sockit::errc code) : err_(code), failed_(code != sockit::errc::ok) {}

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  void value() const { assert(ok()); }
  const Error& error() const& { assert(!ok()); return err_; }
  Error&& error() && { assert(!ok()); return std::move(err_); }
  std::error_code code() const noexcept { return failed_ ? err_.code() : std::error_code{}; }

 private:
  Error err_;
  bool failed_ = false;
};

}  // namespace sockit
