// The plain error pages the server sends on its own (400, 408, 413, 431,
// 500, 503, ...). Reason phrases are base/http_text.h's.
#pragma once

#include <string>
#include <string_view>

#include "base/http_text.h"
#include "gateway/http/http_types.h"

namespace edge::gateway {

// The standard reason phrase for `status` (base/http_text.h).
using base::ReasonPhrase;

// The body of the plain-text error page for `status`: "413 Content Too Large\n",
// followed by `detail` on a line of its own when not empty. `detail` is shown
// to the client: say nothing there that should stay private.
std::string ErrorPage(int status, std::string_view detail = {});

// Answers with that page (text/plain, with a Content-Length) and finishes.
void SendErrorPage(ResponseWriter& writer, int status, std::string_view detail = {});

}  // namespace edge::gateway
