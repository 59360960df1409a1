// The commands that talk to a node's admin API (`edge deploy`, `edge
// secret`, `edge tail`) use base's blocking HTTP/1.1 client
// (base/http_client); these are its names as the commands know them.
#pragma once

#include <string_view>

#include "base/http_client/http_client.h"
#include "base/token_file.h"

namespace edge::cli {

using AdminTarget = base::HttpTarget;
using AdminUrl = base::HttpUrl;
using AdminResponse = base::HttpResponse;
using base::LineSplitter;
using base::PercentEncode;
using base::ReadTokenFile;
using base::Request;
using base::ResolveToken;
using base::ResponseError;
using base::Stream;
using base::Transfer;
using base::StreamOptions;

inline StatusOr<AdminUrl> ParseAdminUrl(std::string_view url) { return base::ParseHttpUrl(url); }

}  // namespace edge::cli
