// multipart/form-data bodies (RFC 7578 over RFC 2046), as browsers send a
// form with enctype="multipart/form-data" and curl sends -F.
//
// The body is a sequence of parts between boundary lines; each part has
// headers (Content-Disposition: form-data; name="..." names its field) and
// then raw bytes up to the next CRLF "--" boundary. Values are binary-safe:
// nothing inside a part is decoded. A "--boundary" that is not followed by
// "--" or by a line end is content, not a delimiter.
#ifndef KVS_HTTP_MULTIPART_H_
#define KVS_HTTP_MULTIPART_H_

#include <string_view>

#include "http/form.h"
#include "kvs/status.h"

namespace kvs::server {

// The fields of body, in order. boundary is the Content-Type's boundary
// parameter, already unquoted. InvalidArgument (saying what and at which
// byte) for a bad boundary, a part without a name, or a body that ends
// before its closing boundary. A filename parameter is allowed and ignored:
// the file's bytes are the field's value.
Result<FormFields> ParseMultipart(std::string_view boundary, std::string_view body);

}  // namespace kvs::server

#endif  // KVS_HTTP_MULTIPART_H_
