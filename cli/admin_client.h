// The commands that talk to a node's admin API (`edge deploy`, `edge
// secret`, `edge tail`) use edge-sync's blocking HTTP/1.1 client; these are
// its names as the commands know them.
#pragma once

#include <string_view>

#include "base/token_file.h"
#include "edge-sync/http_client.h"

namespace edge::cli {

using AdminTarget = sync::HttpTarget;
using AdminUrl = sync::HttpUrl;
using AdminResponse = sync::HttpResponse;
using base::ReadTokenFile;
using sync::LineSplitter;
using sync::PercentEncode;
using sync::Request;
using sync::ResolveToken;
using sync::ResponseError;
using sync::Stream;
using sync::StreamOptions;

inline StatusOr<AdminUrl> ParseAdminUrl(std::string_view url) { return sync::ParseHttpUrl(url); }

}  // namespace edge::cli
