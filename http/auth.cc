// Loading and checking the shared secret.
#include "http/auth.h"

#include <cctype>

#include "common/secret_file.h"

namespace kvs::server {

using common::TrimBlanks;

Secret Secret::FromString(std::string_view secret) {
  Secret s;
  secret = TrimBlanks(secret);
  if (secret == kSampleSecret) {
    s.placeholder_ = true;
  } else {
    s.secret_ = std::string(secret);
  }
  return s;
}

Result<Secret> Secret::Load(const std::optional<std::string>& auth_file) {
  if (!auth_file) return Secret();
  KVS_ASSIGN_OR_RETURN(std::string first_line, common::ReadSecretFile(*auth_file, "the auth_file"));
  Secret secret = FromString(first_line);
  secret.source_ = *auth_file;
  return secret;
}

std::optional<HttpError> Secret::Authorize(const std::vector<std::string>& offered,
                                           std::string_view action) const {
  if (!configured()) {
    // The client learns what to do, never where the file is: server paths
    // go to the log only.
    std::string why = placeholder_ ? "the secret is still the placeholder of auth_sample.txt"
                                   : "this server has no secret configured";
    HttpError refusal{403, std::string(action) + " is disabled: " + why +
                               ". Put a secret on the first line of the file auth_file names "
                               "in the config (see auth_sample.txt) and restart the server"};
    if (!source_.empty()) {
      refusal.log_message = "kvs-fcgi: " + std::string(action) + " refused: " + source_ +
                            (placeholder_ ? " holds the placeholder of auth_sample.txt"
                                          : " has no secret on its first line");
    }
    return refusal;
  }
  const bool reading = action == "reading";
  if (offered.empty()) {
    return HttpError{403,
                     std::string(action) + " needs the secret: send " +
                         (reading ? "auth=SECRET in the query" : "the form field auth=SECRET") +
                         " or the header 'Authorization: Bearer SECRET'"};
  }
  // Check every credential, without stopping early, so the time taken does
  // not say which one was wrong.
  bool all_match = true;
  for (const std::string& credential : offered) {
    all_match &= ConstantTimeEquals(secret_, credential);
  }
  if (!all_match)
    return HttpError{403, reading ? "wrong secret" : "wrong secret; nothing was changed"};
  return std::nullopt;
}

HttpError SecretInWriteUrl() {
  return HttpError{400,
                   "the secret cannot come in the URL of a write (URLs end up in access "
                   "logs); send the header 'Authorization: Bearer SECRET'"};
}

std::vector<std::string> OfferedCredentials(std::vector<std::string> fields,
                                            const HeaderMap& headers) {
  if (auto token = BearerToken(headers)) fields.push_back(std::move(*token));
  return fields;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Any difference, including in length, leaves a bit set in diff. The loop
  // runs over b (the caller's input), indexing a modulo its size, so neither
  // a's length nor its contents change the number of steps.
  size_t diff = a.size() ^ b.size();
  if (a.empty()) return b.empty();
  for (size_t i = 0; i < b.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i % a.size()]) ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

std::optional<std::string> BearerToken(const HeaderMap& headers) {
  auto value = headers.Get("Authorization");
  if (!value) return std::nullopt;
  std::string_view text = TrimBlanks(*value);
  static constexpr std::string_view kScheme = "bearer";
  if (text.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != kScheme[i]) return std::nullopt;
  }
  if (text[kScheme.size()] != ' ' && text[kScheme.size()] != '\t') return std::nullopt;
  return std::string(TrimBlanks(text.substr(kScheme.size())));
}

}  // namespace kvs::server
