// The shared secret that guards writes (and, with read_access: secret,
// reads).
//
// The secret is the first line of the auth_file, trimmed, read once at start.
// A server without one fails closed: it refuses every write and says how to
// configure a secret. The placeholder of auth_sample.txt counts as no secret,
// so copying the template without editing it cannot open the store to anyone
// who has read the template. Requests offer the secret as a form field
// (auth=...) or as "Authorization: Bearer ..."; it is compared in constant
// time.
#ifndef KVS_HTTP_AUTH_H_
#define KVS_HTTP_AUTH_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"
#include "kvs/status.h"

namespace kvs::server {

// What auth_sample.txt holds until someone edits it.
inline constexpr std::string_view kSampleSecret = "yourauthorizationhere";

class Secret {
 public:
  // No secret: every check fails.
  Secret() = default;
  // A secret given directly (tests); empty or the sample means none.
  static Secret FromString(std::string_view secret);
  // The first line of auth_file, trimmed; nullopt (not configured) gives no
  // secret. IOError when the file is configured but cannot be read.
  static Result<Secret> Load(const std::optional<std::string>& auth_file);

  bool configured() const { return !secret_.empty(); }

  // Whether the request may go on, given every credential it offered (form
  // fields and bearer tokens). Each offered credential must match, and at
  // least one must be offered; otherwise a 403 whose message says what is
  // missing. action names what was refused ("writing", "reading").
  std::optional<HttpError> Authorize(const std::vector<std::string>& offered,
                                     std::string_view action) const;

 private:
  std::string secret_;        // empty: none configured
  std::string source_;        // the file it came from, for the log
  bool placeholder_ = false;  // the file held kSampleSecret
};

// The refusal of a write whose URL carries the secret: URLs end up in
// access logs, so it must come in a form field or a bearer token.
HttpError SecretInWriteUrl();

// Every credential a request offers: the given auth fields (form or query)
// and its bearer token, if any.
std::vector<std::string> OfferedCredentials(std::vector<std::string> fields,
                                            const HeaderMap& headers);

// a == b, in a time that depends only on b's length (b is the attacker's
// input), never on where the strings differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// The token of "Authorization: Bearer TOKEN" (scheme case-insensitive);
// nullopt when there is no Authorization header or it is another scheme.
std::optional<std::string> BearerToken(const HeaderMap& headers);

}  // namespace kvs::server

#endif  // KVS_HTTP_AUTH_H_
