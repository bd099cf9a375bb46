// Whole-store branches and commits over HTTP, as a versioned key/value
// store with git-like semantics has them (JSON; writes need the secret as
// "Authorization: Bearer SECRET"):
//
//   GET    /_branches                 every branch
//   POST   /_branches                 {"name", "from", "at"}: a branch in O(1)
//   DELETE /_branches/NAME
//   GET    /_log?branch=&limit=&before=   commits newest first
//   GET    /_diff?from=A&to=B         added, removed, modified keys (A, B:
//                                     branches or commit ids); O(differences)
//   POST   /_reset?branch=B&to=COMMIT moves B to COMMIT's state, as a commit
//                                     of its own (reset to "previous" undoes it)
//
// The merges (/_merge, /_txn) are in faces/branches/merges.h.
#ifndef KVS_FACES_BRANCHES_BRANCHES_H_
#define KVS_FACES_BRANCHES_BRANCHES_H_

#include <string_view>
#include <utility>
#include <variant>

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

Response ListBranches(const Request& request, Service& service);  // GET /_branches
Response CreateBranch(const Request& request, Service& service);  // POST /_branches
Response DeleteBranch(const Request& request, Service& service);  // DELETE /_branches/NAME
Response GetLog(const Request& request, Service& service);
Response GetDiff(const Request& request, Service& service);
Response ResetBranchEndpoint(const Request& request, Service& service);

// A branch state a client names: a commit id (64 hex digits) stands for
// its branch as of that commit, anything else is a branch's latest state.
// The error to answer when the commit does not exist.
std::variant<std::pair<std::string, ReadPoint>, HttpError> ResolveBranchState(
    Service& service, std::string_view text, std::string_view parameter);

}  // namespace kvs::server

#endif  // KVS_FACES_BRANCHES_BRANCHES_H_
