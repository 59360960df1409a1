// The string checks behind the JSON Schema validator (json_schema.h): the
// three formats it supports, and code points counted for minLength and
// maxLength. Internal to gateway/policy.
#pragma once

#include <cstddef>
#include <string_view>

namespace edge::gateway::schema_text {

// RFC 3339 section 5.6 date-time ("1985-04-12T23:20:50.52Z"): T and Z in
// either case, real calendar days, offsets up to 23:59, and a leap second
// (:60) only where the time is 23:59 in UTC.
bool IsDateTime(std::string_view text);

// RFC 4122's text form: 8-4-4-4-12 hexadecimal digits, either case.
bool IsUuid(std::string_view text);

// An address as RFC 5321 section 4.1.2 writes a Mailbox: a dot-atom or a
// quoted local part of at most 64 bytes, "@", and a domain of dot-separated
// labels (letters, digits, hyphens inside; 63 bytes each) or an address
// literal in brackets; at most 254 bytes in all.
bool IsEmail(std::string_view text);

// The code points of valid UTF-8 `text`.
size_t CodePoints(std::string_view text);

}  // namespace edge::gateway::schema_text
