// The FastCGI protocol on one connection (fastcgi_connection.h). Record
// layout and constants from the FastCGI 1.0 specification.
#include "fcgi/fastcgi_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace kvs::server {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kHeaderSize = 8;
constexpr size_t kMaxContent = 65535;
constexpr size_t kMaxPadding = 255;

// Record types.
constexpr uint8_t kBeginRequest = 1;
constexpr uint8_t kAbortRequest = 2;
constexpr uint8_t kEndRequest = 3;
constexpr uint8_t kParams = 4;
constexpr uint8_t kStdin = 5;
constexpr uint8_t kStdout = 6;
constexpr uint8_t kStderr = 7;
constexpr uint8_t kGetValues = 9;
constexpr uint8_t kGetValuesResult = 10;
constexpr uint8_t kUnknownType = 11;

constexpr uint16_t kResponderRole = 1;
constexpr uint8_t kKeepConnFlag = 1;

// FCGI_END_REQUEST protocol statuses.
constexpr uint8_t kRequestComplete = 0;
constexpr uint8_t kCantMpxConn = 1;
constexpr uint8_t kUnknownRole = 3;

// The params stream of one request may not grow past this: the web server
// sends the CGI variables, a few KB; anything far larger is not a request.
constexpr size_t kMaxParamsBytes = 1 << 20;

uint16_t Big16(const char* p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) << 8 | static_cast<uint8_t>(p[1]));
}

// A name-value pair length: one byte below 128, else four with the top bit set.
bool ReadLength(std::string_view* in, size_t* length) {
  if (in->empty()) return false;
  auto byte = [&](size_t i) { return static_cast<uint8_t>((*in)[i]); };
  if (byte(0) < 0x80) {
    *length = byte(0);
    in->remove_prefix(1);
    return true;
  }
  if (in->size() < 4) return false;
  *length = (static_cast<size_t>(byte(0) & 0x7f) << 24) | (static_cast<size_t>(byte(1)) << 16) |
            (static_cast<size_t>(byte(2)) << 8) | byte(3);
  in->remove_prefix(4);
  return true;
}

void AppendLength(std::string* out, size_t length) {
  if (length < 0x80) {
    out->push_back(static_cast<char>(length));
    return;
  }
  out->push_back(static_cast<char>(0x80 | (length >> 24)));
  out->push_back(static_cast<char>(length >> 16));
  out->push_back(static_cast<char>(length >> 8));
  out->push_back(static_cast<char>(length));
}

}  // namespace

bool WebServerAllowed(int fd, const char* allowed) {
  if (allowed == nullptr) return true;
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return false;
  if (peer.ss_family == AF_UNIX) return true;
  if (peer.ss_family != AF_INET) return false;
  char address[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, address, sizeof address);
  std::string_view list = allowed;
  while (!list.empty()) {
    size_t comma = std::min(list.find(','), list.size());
    std::string_view entry = list.substr(0, comma);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry == address) return true;
    list.remove_prefix(std::min(comma + 1, list.size()));
  }
  return false;
}

FastCgiConnection::FastCgiConnection() : buffer_(2 * (kHeaderSize + kMaxContent + kMaxPadding)) {}

void FastCgiConnection::Reset(int fd) {
  fd_ = fd;
  begin_ = end_ = 0;
  broken_ = false;
  request_id_ = 0;
  keep_conn_ = false;
  stdin_done_ = false;
  pending_stdin_ = {};
}

bool FastCgiConnection::ReadRecord(Record* record) {
  if (broken_) return false;
  size_t need = kHeaderSize;
  for (;;) {
    if (end_ - begin_ >= kHeaderSize) {
      const char* h = buffer_.data() + begin_;
      if (static_cast<uint8_t>(h[0]) != kVersion) {
        broken_ = true;
        return false;
      }
      size_t content = Big16(h + 4);
      need = kHeaderSize + content + static_cast<uint8_t>(h[6]);
      if (end_ - begin_ >= need) {
        record->type = static_cast<uint8_t>(h[1]);
        record->request_id = Big16(h + 2);
        record->content = std::string_view(h + kHeaderSize, content);
        begin_ += need;
        return true;
      }
    }
    // Make room for the whole record after what is buffered: move the
    // partial record to the front when it would not fit where it is.
    if (buffer_.size() - begin_ < need) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    ssize_t got = read(fd_, buffer_.data() + end_, buffer_.size() - end_);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      broken_ = true;  // the end of the connection, or a failed read
      return false;
    }
    end_ += static_cast<size_t>(got);
  }
}

bool FastCgiConnection::HandleOtherRecord(const Record& record) {
  if (record.request_id == 0) {
    if (record.type == kGetValues) {
      // Of the variables asked for, the one a connection can answer:
      // FCGI_MPXS_CONNS (no multiplexing). The pool's size is not its to
      // say, so FCGI_MAX_CONNS and FCGI_MAX_REQS are left out, as the
      // specification allows for variables an application does not know.
      std::string result;
      std::string_view in = record.content;
      size_t name_length, value_length;
      while (ReadLength(&in, &name_length) && ReadLength(&in, &value_length) &&
             in.size() >= name_length && in.size() - name_length >= value_length) {
        std::string_view name = in.substr(0, name_length);
        in.remove_prefix(name_length + value_length);
        if (name != "FCGI_MPXS_CONNS") continue;
        AppendLength(&result, name.size());
        AppendLength(&result, 1);
        result.append(name).append("0");
      }
      AppendRecord(kGetValuesResult, 0, result);
    } else {
      char body[8] = {static_cast<char>(record.type)};
      AppendRecord(kUnknownType, 0, std::string_view(body, sizeof body));
    }
    return Flush();
  }
  if (record.type == kBeginRequest && record.request_id != request_id_) {
    AppendEndRequest(record.request_id, kCantMpxConn);
    return Flush();
  }
  return true;  // a record of a request that is not open: nothing to do
}

bool FastCgiConnection::NextRequest() {
  request_id_ = 0;
  stdin_done_ = false;
  pending_stdin_ = {};
  params_stream_.clear();
  Record record;
  while (ReadRecord(&record)) {
    if (request_id_ == 0 && record.type == kBeginRequest && record.request_id != 0) {
      if (record.content.size() < 8) {
        broken_ = true;
        return false;
      }
      keep_conn_ = (static_cast<uint8_t>(record.content[2]) & kKeepConnFlag) != 0;
      if (Big16(record.content.data()) != kResponderRole) {
        AppendEndRequest(record.request_id, kUnknownRole);
        if (!Flush() || !keep_conn_) return false;
        continue;
      }
      request_id_ = record.request_id;
      continue;
    }
    if (request_id_ == 0 || record.request_id != request_id_) {
      if (!HandleOtherRecord(record)) return false;
      continue;
    }
    switch (record.type) {
      case kParams:
        if (!record.content.empty()) {
          if (params_stream_.size() + record.content.size() > kMaxParamsBytes) {
            broken_ = true;
            return false;
          }
          params_stream_.append(record.content);
          continue;
        }
        if (!ParseParams()) {
          broken_ = true;
          return false;
        }
        return true;
      case kAbortRequest:
        // Before the params are complete there is nothing to answer but
        // the end of the request.
        AppendEndRequest(request_id_, kRequestComplete);
        request_id_ = 0;
        params_stream_.clear();
        if (!Flush() || !keep_conn_) return false;
        continue;
      default:
        // Stdin before the params end breaks the order the protocol sets.
        broken_ = true;
        return false;
    }
  }
  return false;
}

bool FastCgiConnection::ParseParams() {
  // "NAME=value\0" is never longer than the pair it came from (whose two
  // lengths take at least two bytes), so the storage reserved here never
  // moves, and pointers into it can be taken as it fills.
  params_storage_.clear();
  params_storage_.reserve(params_stream_.size());
  params_.clear();
  std::string_view in = params_stream_;
  while (!in.empty()) {
    size_t name_length, value_length;
    if (!ReadLength(&in, &name_length) || !ReadLength(&in, &value_length) ||
        in.size() < name_length || in.size() - name_length < value_length) {
      return false;
    }
    params_.push_back(params_storage_.data() + params_storage_.size());
    params_storage_.append(in.substr(0, name_length))
        .append(1, '=')
        .append(in.substr(name_length, value_length))
        .append(1, '\0');
    in.remove_prefix(name_length + value_length);
  }
  params_.push_back(nullptr);
  return true;
}

size_t FastCgiConnection::ReadBody(char* buffer, size_t size) {
  while (pending_stdin_.empty() && !stdin_done_) {
    Record record;
    if (!ReadRecord(&record)) {
      stdin_done_ = true;
      break;
    }
    if (record.request_id != request_id_) {
      if (!HandleOtherRecord(record)) stdin_done_ = true;
      continue;
    }
    if (record.type == kStdin) {
      if (record.content.empty()) stdin_done_ = true;
      pending_stdin_ = record.content;
    } else if (record.type == kAbortRequest) {
      stdin_done_ = true;
    }
    // Other records of the request (FCGI_DATA, a repeated param) are ignored.
  }
  // copy, not memcpy: with no stdin read yet, pending_stdin_'s data() is
  // null, which memcpy may not be given even for no bytes.
  size_t n = pending_stdin_.copy(buffer, size);
  pending_stdin_.remove_prefix(n);
  return n;
}

void FastCgiConnection::AppendRecord(uint8_t type, uint16_t request_id, std::string_view content) {
  // Content padded to a multiple of 8, as the specification recommends.
  size_t padding = (8 - content.size() % 8) % 8;
  char header[kHeaderSize] = {static_cast<char>(kVersion),
                              static_cast<char>(type),
                              static_cast<char>(request_id >> 8),
                              static_cast<char>(request_id),
                              static_cast<char>(content.size() >> 8),
                              static_cast<char>(content.size()),
                              static_cast<char>(padding),
                              0};
  out_.append(header, kHeaderSize).append(content).append(padding, '\0');
}

void FastCgiConnection::AppendStream(uint8_t type, std::string_view bytes) {
  // Whole records of at most kMaxContent rounded down to 8 (no padding), the rest last.
  constexpr size_t kChunk = kMaxContent / 8 * 8;
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), kChunk);
    AppendRecord(type, request_id_, bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  AppendRecord(type, request_id_, {});  // the end of the stream
}

void FastCgiConnection::AppendEndRequest(uint16_t request_id, uint8_t protocol_status) {
  char body[8] = {0, 0, 0, 0, static_cast<char>(protocol_status), 0, 0, 0};  // app status 0
  AppendRecord(kEndRequest, request_id, std::string_view(body, sizeof body));
}

bool FastCgiConnection::Flush() {
  size_t done = 0;
  while (done < out_.size()) {
    ssize_t n = write(fd_, out_.data() + done, out_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      broken_ = true;
      out_.clear();
      return false;
    }
    done += static_cast<size_t>(n);
  }
  out_.clear();
  return true;
}

bool FastCgiConnection::Respond(std::string_view out, std::string_view log) {
  char discard[4096];
  while (ReadBody(discard, sizeof discard) > 0) {
  }
  if (!log.empty()) AppendStream(kStderr, log);
  AppendStream(kStdout, out);
  AppendEndRequest(request_id_, kRequestComplete);
  request_id_ = 0;
  return Flush();
}

}  // namespace kvs::server
