// Fuzz builds only (clang). Debian's libfmt is built with gcc, and clang
// mangles the name of one of its template functions differently
// (detail::vformat_to<char>, used by fmt::format_to into a
// back_insert_iterator), so a clang-built binary that uses it cannot find
// it in libfmt.so. This instantiates it here, from fmt's own header-only
// definition, under clang's name.
#define FMT_HEADER_ONLY
#include <fmt/format.h>

namespace fmt {
inline namespace v9 {
namespace detail {
template void vformat_to<char>(buffer<char>& buf, basic_string_view<char> fmt,
                               basic_format_args<FMT_BUFFER_CONTEXT(type_identity_t<char>)> args,
                               locale_ref loc);
}  // namespace detail
}  // namespace v9
}  // namespace fmt
