// The FastCGI protocol (version 1.0, the responder role) on one connection
// from the web server: records in, one request's params and stdin; records
// out, its stdout, stderr and end.
//
// kvs speaks the protocol itself rather than through libfcgi, for what
// libfcgi costs on every request: a heap copy of each param, reads of 8 KB at
// a time, and a close that shuts the socket down and then waits (in poll) for
// the web server to close its end first, which puts the thread to sleep and
// wakes it again once per request. Here a request whose records fit the
// buffer is read in one read(), answered in one write() and closed at once;
// the closing side needs no wait, because every byte the web server sent is
// read first (a socket closed with unread input resets the connection, and
// the web server could lose the answer).
//
// One request at a time per connection: a second FCGI_BEGIN_REQUEST while
// one is open is refused with FCGI_CANT_MPX_CONN, as FCGI_GET_VALUES says
// (FCGI_MPXS_CONNS 0). FCGI_KEEP_CONN keeps the connection for the next
// request. Roles other than responder get FCGI_UNKNOWN_ROLE; unknown
// management records get FCGI_UNKNOWN_TYPE. A record that breaks the
// protocol (a version other than 1, a truncated record, a malformed
// name-value pair) ends the connection.
#ifndef KVS_FCGI_FASTCGI_CONNECTION_H_
#define KVS_FCGI_FASTCGI_CONNECTION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvs::server {

// libfcgi's rule, kept for the setups that rely on it: when
// FCGI_WEB_SERVER_ADDRS is set, allowed is its value (a comma-separated
// list of IPv4 addresses), and a TCP connection from any other address is
// closed unanswered. Connections over unix sockets, whose file mode guards
// them, and every connection when allowed is null, are allowed.
bool WebServerAllowed(int fd, const char* allowed);

class FastCgiConnection {
 public:
  FastCgiConnection();

  // Starts over on a new connection (the buffers are kept, so a worker that
  // serves many connections allocates once).
  void Reset(int fd);

  // Reads records until a request's params are complete: true, with the
  // request's params() and body (ReadBody) ready. false when the connection
  // has nothing more: closed by the web server, failed, or broke the protocol.
  bool NextRequest();

  // The params as a NULL-terminated array of "NAME=value" strings (what
  // RequestFromCgiVariables takes). Valid until the next NextRequest.
  const char* const* params() const { return params_.data(); }

  // Up to size bytes of the request's stdin; 0 at its end (also when the
  // request was aborted or the connection failed).
  size_t ReadBody(char* buffer, size_t size);

  // Ends the request: reads what is left of its stdin, then sends log as
  // its stderr (when not empty), out as its stdout, and FCGI_END_REQUEST,
  // in one write. false when the write failed.
  bool Respond(std::string_view out, std::string_view log);

  // Whether the web server asked to keep the connection open after the
  // request (FCGI_KEEP_CONN), and nothing has gone wrong on it since.
  bool keep_open() const { return keep_conn_ && !broken_; }

  // Whether bytes of the next record are already read (so a caller waiting
  // for the next request must not wait on the socket first).
  bool has_buffered_input() const { return begin_ != end_; }

 private:
  struct Record {
    uint8_t type;
    uint16_t request_id;
    std::string_view content;  // into buffer_; valid until the next ReadRecord
  };

  // The next whole record, reading from the socket as needed. false at the
  // end of the connection or on a protocol error (broken_ set).
  bool ReadRecord(Record* record);
  // Answers a record with request id 0, or one for a request this
  // connection cannot take. false when the answer could not be sent.
  bool HandleOtherRecord(const Record& record);
  // Splits the params stream into params_storage_ and params_.
  bool ParseParams();
  void AppendRecord(uint8_t type, uint16_t request_id, std::string_view content);
  void AppendStream(uint8_t type, std::string_view bytes);
  void AppendEndRequest(uint16_t request_id, uint8_t protocol_status);
  bool Flush();

  int fd_ = -1;
  std::vector<char> buffer_;  // input bytes [begin_, end_) not yet consumed
  size_t begin_ = 0;
  size_t end_ = 0;
  bool broken_ = false;

  uint16_t request_id_ = 0;  // the open request (0: none)
  bool keep_conn_ = false;
  bool stdin_done_ = false;
  std::string_view pending_stdin_;  // the rest of the last stdin record read
  std::string params_stream_;       // the FCGI_PARAMS stream, concatenated
  std::string params_storage_;      // "NAME=value\0" back to back
  std::vector<const char*> params_;
  std::string out_;  // records waiting to be written
};

}  // namespace kvs::server

#endif  // KVS_FCGI_FASTCGI_CONNECTION_H_
