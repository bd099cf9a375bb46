// Status and Result<T>: how the store reports errors.
//
// Errors are values, never exceptions: every fallible call returns a Status
// (or a Result<T> holding either a T or a non-OK Status). The code says what
// kind of failure it was, so callers can map it (the server turns kNotFound
// into 404, kConflict into 409 or 412, kInvalidArgument into 400, ...); the
// message says what exactly was wrong, in words meant for a person.
#ifndef KVS_STATUS_H_
#define KVS_STATUS_H_

#include <optional>
#include <string>
#include <utility>

namespace kvs {

class Status {
 public:
  enum class Code {
    kOk,
    kNotFound,         // no such key, version, branch or commit
    kInvalidArgument,  // the caller's input is malformed or out of bounds
    kConflict,         // a compare-and-set precondition did not hold
    kAmbiguous,        // an id prefix matches more than one version
    kCorruption,       // stored bytes fail their checksum or do not parse
    kIOError,          // the operating system refused a read, write or sync
    kCompacted,        // the requested past state was removed by compaction
    kNoSpace,          // the file system is full (or a file size limit was reached)
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status Conflict(std::string msg) { return Status(Code::kConflict, std::move(msg)); }
  static Status Ambiguous(std::string msg) { return Status(Code::kAmbiguous, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Compacted(std::string msg) { return Status(Code::kCompacted, std::move(msg)); }
  static Status NoSpace(std::string msg) { return Status(Code::kNoSpace, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsConflict() const { return code_ == Code::kConflict; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  // A write or sync the operating system refused (kIOError, kNoSpace).
  bool IsWriteFailure() const { return code_ == Code::kIOError || code_ == Code::kNoSpace; }
  const std::string& message() const { return message_; }
  // "NotFound: key 'a' does not exist", for logs and tests.
  std::string ToString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or the reason there is none. Accessing value() of a failed
// Result is a programming error (asserted).
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace kvs

// Early-return helpers for functions that return Status or Result<T>.
#define KVS_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::kvs::Status kvs_status_ = (expr);        \
    if (!kvs_status_.ok()) return kvs_status_; \
  } while (0)

#define KVS_CONCAT_INNER_(a, b) a##b
#define KVS_CONCAT_(a, b) KVS_CONCAT_INNER_(a, b)
#define KVS_ASSIGN_OR_RETURN(lhs, expr) \
  KVS_ASSIGN_OR_RETURN_IMPL_(KVS_CONCAT_(kvs_result_, __LINE__), lhs, expr)
#define KVS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

#endif  // KVS_STATUS_H_
