// Status and Result<T>: the error values that cross every scrubd module boundary.
// Value types, no shared state; safe to copy between threads. No exception ever crosses a
// module boundary: adapters for yaml-cpp, SQLite, Boost and OpenSSL turn theirs into these.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace scrubd {

// The taxonomy (docs/errors.md): bad traffic -> kInvalidInput / kTooLarge (4xx, counted);
// environment faults -> kIo / kUnavailable (handled, logged, counted); bad config ->
// kInvalidConfig (refuse to start, message carries file:line:col); impossible state -> abort.
enum class Code {
  kOk = 0,
  kInvalidInput,   // malformed traffic: bad JSON, gzip, UTF-8, missing ids
  kTooLarge,       // body, decompressed size, ratio or nesting over a cap
  kNotFound,       // unknown endpoint, session or key
  kUnauthorized,   // missing or wrong admin token
  kInvalidConfig,  // policy or config error; message has file:line:col
  kIo,             // file system, SQLite, socket
  kUnavailable,    // upstream down, resource exhausted (e.g. RE2 out of memory)
  kCorruption,     // on-disk data failed a check (audit log, store)
  kInternal,       // a bug; callers log loudly
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidInput(std::string m) { return {Code::kInvalidInput, std::move(m)}; }
  static Status TooLarge(std::string m) { return {Code::kTooLarge, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Unauthorized(std::string m) { return {Code::kUnauthorized, std::move(m)}; }
  static Status InvalidConfig(std::string m) { return {Code::kInvalidConfig, std::move(m)}; }
  static Status Io(std::string m) { return {Code::kIo, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

inline const char* CodeName(Code c) {
  switch (c) {
    case Code::kOk: return "ok";
    case Code::kInvalidInput: return "invalid_input";
    case Code::kTooLarge: return "too_large";
    case Code::kNotFound: return "not_found";
    case Code::kUnauthorized: return "unauthorized";
    case Code::kInvalidConfig: return "invalid_config";
    case Code::kIo: return "io";
    case Code::kUnavailable: return "unavailable";
    case Code::kCorruption: return "corruption";
    case Code::kInternal: return "internal";
  }
  return "unknown";
}

inline std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

// Result<T>: a T or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace scrubd
