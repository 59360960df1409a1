// The JSON forms of R2's values, for R2 calls between a PoP and the
// fleet's origin (edge-sync/r2_remote.h is the PoP's side, r2_home.h the
// origin's; docs/edge-sync.md, "Buckets in a fleet"). Strings are JSON
// strings (keys and metadata are UTF-8), digests base64. Every decoder is
// strict: a missing or mistyped field is kInvalidInput naming it.
#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "bindings/r2/r2_store.h"

namespace edge::bindings {

void AppendR2MetaJson(std::string& out, const R2ObjectMeta& meta);
StatusOr<R2ObjectMeta> R2MetaFromJson(simdjson::dom::element element);

void AppendR2PutOptionsJson(std::string& out, const R2PutOptions& options);
StatusOr<R2PutOptions> R2PutOptionsFromJson(simdjson::dom::element element);

// null when absent.
void AppendR2ConditionalJson(std::string& out, const std::optional<R2Conditional>& only_if);
StatusOr<std::optional<R2Conditional>> R2ConditionalFromJson(simdjson::dom::element element);

void AppendR2RangeJson(std::string& out, const std::optional<R2Range>& range);
StatusOr<std::optional<R2Range>> R2RangeFromJson(simdjson::dom::element element);

void AppendR2ListResultJson(std::string& out, const R2ListResult& result);
StatusOr<R2ListResult> R2ListResultFromJson(simdjson::dom::element element);

// An error as it crosses the wire: {"error": message, "code": kind}, the
// kind one of "type", "range", "syntax", "not_found", "invalid", "io",
// "internal"; and back (an unknown kind is kInvalidInput).
std::string R2ErrorJson(const Status& status);
Status R2StatusFromError(std::string_view code, std::string message);

// Field readers the call decoders share (kInvalidInput naming the field).
StatusOr<std::string> R2StringField(simdjson::dom::element object, std::string_view name);
StatusOr<uint64_t> R2NumberField(simdjson::dom::element object, std::string_view name);

}  // namespace edge::bindings
