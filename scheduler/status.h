// Status and Result<T>: how errors cross library, MPI and CLI boundaries.
// Library code never prints or exits; it returns one of these and the CLI turns
// the message into one line and a non-zero exit code. Messages that come from a
// file start with "FILE:LINE: " so the user can go straight to the problem.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace flotilla {

// Value type; not thread-safe to mutate from several threads, cheap to copy.
class [[nodiscard]] Status {
 public:
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message)); }
  // "FILE:LINE: what" — the one line a user sees for bad input.
  static Status at(const std::string& file, std::size_t line, const std::string& what) {
    return Status(file + ":" + std::to_string(line) + ": " + what);
  }

  bool is_ok() const { return !message_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }

 private:
  Status() = default;
  explicit Status(std::string m) : message_(std::move(m)) {}
  std::optional<std::string> message_;
};

// Either a value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}       // NOLINT(google-explicit-constructor)
  Result(Status error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const {
    static const Status kOk = Status::ok();
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  const std::string& message() const { return status().message(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace flotilla
