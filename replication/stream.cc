// Replication over a duplex stream (replication/stream.h).
//
// Three threads per side keep the stream from deadlocking: a reader that
// only ever reads (so the other side's writes always drain), an answerer
// that serves the other side's requests in order, and the caller's thread,
// which drives this side's pull. Writes of whole lines are serialized by a
// mutex.
#include "replication/stream.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "common/json_value.h"
#include "replication/local_peer.h"
#include "replication/serve.h"

namespace kvs::replication {
namespace {

// How an error answer names the kind of failure, each way. Any other kind
// travels as, and any other name arrives as, an I/O error.
struct ErrorKind {
  Status::Code code;
  std::string_view name;
  Status (*make)(std::string message);
};
constexpr ErrorKind kErrorKinds[] = {
    {Status::Code::kNotFound, "not_found", &Status::NotFound},
    {Status::Code::kInvalidArgument, "invalid", &Status::InvalidArgument},
    {Status::Code::kConflict, "conflict", &Status::Conflict},
    {Status::Code::kCompacted, "compacted", &Status::Compacted},
    {Status::Code::kNoSpace, "no_space", &Status::NoSpace},
    {Status::Code::kCorruption, "corruption", &Status::Corruption},
};

std::string_view ErrorName(Status::Code code) {
  for (const ErrorKind& kind : kErrorKinds) {
    if (kind.code == code) return kind.name;
  }
  return "io_error";
}

Status StatusNamed(std::string_view name, std::string message) {
  for (const ErrorKind& kind : kErrorKinds) {
    if (kind.name == name) return kind.make(std::move(message));
  }
  return Status::IOError(std::move(message));
}

class Link : public RemotePeer, public std::enable_shared_from_this<Link> {
 public:
  Link(Store& store, int in_fd, int out_fd)
      : local_(store, {{}, &ended_}), in_fd_(in_fd), out_fd_(out_fd) {}

  // Stops answering. The reader goes on until the stream ends (the other
  // side may keep its end open for a while), holding the Link alive.
  void Stop() {
    ended_ = true;  // ends a wait the answerer may be in
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
    }
    changed_.notify_all();
    if (answerer_.joinable()) answerer_.join();
  }

  // Sends this side's hello and waits for the other's: its mode, and
  // whether it is live too (InvalidArgument when only one side is).
  Result<Direction> Start(Direction mine, bool live) {
    KVS_RETURN_IF_ERROR(Send({{"hello", {{"mode", DirectionName(mine)}, {"live", live}}}}));
    std::thread([self = shared_from_this()] { self->ReadLoop(); }).detach();
    answerer_ = std::thread([this] { AnswerLoop(); });
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] { return their_mode_ || !broken_.ok(); });
    if (!their_mode_) return broken_;
    if (their_live_ != live) {
      return Status::InvalidArgument(std::string(live ? "this side is --live and the other not"
                                                      : "the other side is --live and this not") +
                                     ": give both sides --live, or neither");
    }
    return *their_mode_;
  }

  // Whether the stream ended or broke.
  bool Ended() {
    std::lock_guard<std::mutex> lock(mu_);
    return !broken_.ok();
  }

  Status SendDone() { return Send({{"done", true}}); }

  // Waits until the other side is done too, answering it meanwhile.
  Status WaitForOtherSide() {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] {
      return (they_are_done_ && requests_.empty() && !answering_) || !broken_.ok();
    });
    return they_are_done_ ? Status::OK() : broken_;
  }

 protected:
  Result<Json> Call(Op op, const Json& body) override {
    uint64_t id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      id = next_id_++;
    }
    KVS_RETURN_IF_ERROR(Send({{"id", id}, {"op", OpName(op)}, {"body", body}}));
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return answers_.count(id) || !broken_.ok(); });
    auto it = answers_.find(id);
    if (it == answers_.end()) return broken_;
    Json answer = std::move(it->second);
    answers_.erase(it);
    if (answer.contains("error")) {
      const Json& code = answer["error"];
      const Json& message = answer["message"];
      return StatusNamed(
          code.is_string() ? code.get<std::string>() : "",
          "the other side: " + (message.is_string() ? message.get<std::string>() : std::string()));
    }
    if (!answer.contains("body")) return Status::IOError("the other side sent an empty answer");
    return std::move(answer["body"]);
  }

 private:
  Status Send(const Json& message) {
    const std::string line = common::DumpJson(message);
    std::lock_guard<std::mutex> lock(write_mu_);
    for (size_t done = 0; done < line.size();) {
      ssize_t n = ::write(out_fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // The other side stopped reading: the stream is over, for the
        // waits of this side too, whether or not a read has seen its end.
        Status closed = Status::IOError("the stream to the other side closed");
        Fail(closed);
        return closed;
      }
      done += static_cast<size_t>(n);
    }
    return Status::OK();
  }

  void Fail(Status status) {
    ended_ = true;
    std::lock_guard<std::mutex> lock(mu_);
    if (broken_.ok()) broken_ = std::move(status);
    changed_.notify_all();
  }

  void ReadLoop() {
    std::string buffer;
    char chunk[1 << 16];
    for (;;) {
      size_t newline;
      while ((newline = buffer.find('\n')) != std::string::npos) {
        if (!Dispatch(std::string_view(buffer).substr(0, newline))) return;
        buffer.erase(0, newline + 1);
      }
      ssize_t n = ::read(in_fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        Fail(Status::IOError("the other side closed the stream before it was done"));
        return;
      }
      buffer.append(chunk, static_cast<size_t>(n));
    }
  }

  // One line from the other side; false when it is not the protocol.
  bool Dispatch(std::string_view line) {
    auto message = Parse(line);
    if (!message.ok() || !message->is_object()) {
      Fail(
          Status::IOError("the other side sent something that is not the kvs replication "
                          "protocol (is it `kvs sync --stdio`?)"));
      return false;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (message->contains("hello")) {
      const Json& hello = (*message)["hello"];
      const std::string mode = hello.is_object() && hello.value("mode", Json()).is_string()
                                   ? hello["mode"].get<std::string>()
                                   : "";
      for (Direction d : {Direction::kPush, Direction::kPull, Direction::kSync}) {
        if (DirectionName(d) == mode) their_mode_ = d;
      }
      their_live_ = hello.is_object() && hello.value("live", false) == true;
      if (!their_mode_) broken_ = Status::IOError("the other side's mode is unknown: " + mode);
    } else if (message->contains("re") && (*message)["re"].is_number_unsigned()) {
      const uint64_t id = (*message)["re"].get<uint64_t>();
      answers_[id] = std::move(*message);
    } else if (message->contains("op")) {
      requests_.push_back(std::move(*message));
    } else if (message->contains("done")) {
      they_are_done_ = true;
    }
    changed_.notify_all();
    return true;
  }

  void AnswerLoop() {
    for (;;) {
      Json request;
      {
        std::unique_lock<std::mutex> lock(mu_);
        changed_.wait(lock, [this] { return !requests_.empty() || closing_ || !broken_.ok(); });
        if (requests_.empty()) return;
        request = std::move(requests_.front());
        requests_.pop_front();
        answering_ = true;
      }
      const Json& id = request["id"];
      const Json& name = request["op"];
      Json answer = {{"re", id.is_number_unsigned() ? id.get<uint64_t>() : 0}};
      std::optional<Op> op = name.is_string() ? OpNamed(name.get<std::string>()) : std::nullopt;
      Result<Json> body = op ? Answer(local_, *op, request.value("body", Json::object()))
                             : Result<Json>(Status::InvalidArgument("unknown message"));
      if (body.ok()) {
        answer["body"] = std::move(*body);
      } else {
        answer["error"] = ErrorName(body.status().code());
        answer["message"] = body.status().message();
      }
      Status sent = Send(answer);
      std::lock_guard<std::mutex> lock(mu_);
      answering_ = false;
      if (!sent.ok() && broken_.ok()) broken_ = sent;
      changed_.notify_all();
    }
  }

  std::atomic<bool> ended_{false};  // the stream ended, or this side stops
  LocalPeer local_;                 // answers; its waits end with ended_
  const int in_fd_;
  const int out_fd_;
  std::mutex write_mu_;  // one line at a time on out_fd_

  std::mutex mu_;
  std::condition_variable changed_;
  // Guarded by mu_:
  std::optional<Direction> their_mode_;
  bool their_live_ = false;
  std::map<uint64_t, Json> answers_;
  std::deque<Json> requests_;
  bool answering_ = false;
  bool they_are_done_ = false;
  bool closing_ = false;
  Status broken_;
  uint64_t next_id_ = 1;

  std::thread answerer_;
};

}  // namespace

Result<StreamOutcome> ReplicateOverStream(Store& store, const LocalPeerOptions& local_options,
                                          int in_fd, int out_fd, Direction direction,
                                          const ReplicateOptions& options, const StreamLive& live) {
  auto link = std::make_shared<Link>(store, in_fd, out_fd);
  struct StopOnReturn {
    Link* link;
    ~StopOnReturn() { link->Stop(); }
  } stop{link.get()};
  KVS_ASSIGN_OR_RETURN(Direction theirs, link->Start(direction, live.live));
  StreamOutcome outcome;
  outcome.pulled = Receives(direction) && Sends(theirs);
  outcome.was_pulled = Sends(direction) && Receives(theirs);
  if (!outcome.pulled && !outcome.was_pulled) {
    outcome.nothing_because = direction == Direction::kPush ? "both sides push" : "both sides pull";
  }
  if (live.live && !outcome.nothing_because.empty()) return outcome;
  if (live.live) {
    // Until the other side goes: pull, then wait for its next change.
    LocalPeer local(store, local_options);
    Status failed = Status::OK();
    while (outcome.pulled && failed.ok()) {
      auto stats = Replicate(*link, local, options);
      if (!stats.ok()) {
        failed = stats.status();
        break;
      }
      if (live.each_run) live.each_run(*stats);
      WaitRequest wait{stats->source_revision, options.branches, options.prefix, live.wait_ms,
                       options.hash_ranges};
      Result<WaitOutcome> waited = link->Wait(wait);
      while (waited.ok() && !waited->changed) {
        wait.revision = waited->revision;
        waited = link->Wait(wait);
      }
      failed = waited.status();
    }
    // The other side ending the stream ends this side; anything else is
    // an error of its own.
    if (!failed.ok() && !link->Ended()) return failed;
    (void)link->WaitForOtherSide();  // answering it until the stream ends
    outcome.ended = true;
    return outcome;
  }
  if (outcome.pulled) {
    LocalPeer local(store, local_options);
    KVS_ASSIGN_OR_RETURN(outcome.received, Replicate(*link, local, options));
  }
  KVS_RETURN_IF_ERROR(link->SendDone());
  KVS_RETURN_IF_ERROR(link->WaitForOtherSide());
  return outcome;
}

}  // namespace kvs::replication
