// The FastCGI front end: a pool of threads that accept connections from the
// web server on one listening socket, read their requests
// (fastcgi_connection.h) and answer them through the Request/Response
// handlers (cgi_gateway.h).
//
// One thread at a time waits for and accepts a connection (libfcgi's
// threaded example does the same: not every platform lets threads share an
// accept), then serves it while the next thread accepts. A connection the
// web server keeps open (FCGI_KEEP_CONN) keeps its thread between requests
// only while half the threads or fewer do; the others are parked without a
// thread, and the waiting thread takes their next request as it takes a new
// connection. So the web server may keep more connections than there are
// threads; one idle for 10 s is closed. The listening socket
// is made non-blocking, so a process that loses the race for a connection to
// another process on the same socket (spawn-fcgi -F N) goes back to waiting
// instead of hanging in accept. SIGTERM, SIGINT or SIGHUP stop the server:
// no new connection is accepted, the requests in flight finish, and
// ServeFastCgi returns.
#ifndef KVS_FCGI_FASTCGI_SERVER_H_
#define KVS_FCGI_FASTCGI_SERVER_H_

#include <csignal>

#include "http/service.h"
#include "kvs/status.h"

namespace kvs::server {

// The signals that stop the server. Block them (pthread_sigmask) in the
// main thread before any other thread exists, so that every thread inherits
// the mask and ServeFastCgi alone receives them.
sigset_t StopSignals();

// Serves on listen_fd with `threads` workers until a stop signal arrives.
// IOError when the pool cannot start.
Status ServeFastCgi(int listen_fd, int threads, Service& service);

}  // namespace kvs::server

#endif  // KVS_FCGI_FASTCGI_SERVER_H_
