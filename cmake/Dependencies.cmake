# Finds every dependency of DESIGN.md's table. When one is missing, CMake
# stops with a message that says how to get it.
set(EDGE_DEPS "${PROJECT_SOURCE_DIR}/third_party/deps")
set(EDGE_BOOTSTRAP_HINT "run scripts/bootstrap to install it")

function(edge_require var what)
  if(NOT ${var})
    message(FATAL_ERROR "edge: ${what} not found; ${EDGE_BOOTSTRAP_HINT}")
  endif()
endfunction()

# V8 10.2 from the unpacked libnode-dev/libnode108. Never /usr/include/node
# (Node 20's V8 11.3 headers, which do not match this library).
find_path(V8_INCLUDE_DIR v8.h PATHS "${EDGE_DEPS}/usr/include/node" NO_DEFAULT_PATH)
find_library(NODE_LIBRARY NAMES node libnode.so.108
             PATHS "${EDGE_DEPS}/usr/lib/x86_64-linux-gnu" NO_DEFAULT_PATH)
edge_require(V8_INCLUDE_DIR "V8 10.2 headers (libnode-dev, unpacked)")
# v8-inspector.h (`edge dev --inspect`) ships in the same package, beside a
# copy of the same V8 headers.
find_path(V8_INSPECTOR_INCLUDE_DIR v8-inspector.h
          PATHS "${EDGE_DEPS}/usr/include/nodejs/deps/v8/include" NO_DEFAULT_PATH)
edge_require(V8_INSPECTOR_INCLUDE_DIR "v8-inspector.h (libnode-dev, unpacked)")
edge_require(NODE_LIBRARY "libnode.so.108 (libnode108, unpacked)")
file(STRINGS "${V8_INCLUDE_DIR}/v8-version.h" _v8_major REGEX "define V8_MAJOR_VERSION")
if(NOT _v8_major MATCHES "10$")
  message(FATAL_ERROR "edge: ${V8_INCLUDE_DIR} is not V8 10.x; ${EDGE_BOOTSTRAP_HINT}")
endif()
get_filename_component(NODE_LIBRARY_DIR "${NODE_LIBRARY}" DIRECTORY)
add_library(edge_v8 INTERFACE)
target_include_directories(edge_v8 SYSTEM INTERFACE "${V8_INCLUDE_DIR}" "${V8_INSPECTOR_INCLUDE_DIR}")
target_link_libraries(edge_v8 INTERFACE "${NODE_LIBRARY}")

# llhttp 8.1 from the unpacked node-llhttp, built here as a static library.
find_path(LLHTTP_INCLUDE_DIR llhttp.h PATHS "${EDGE_DEPS}/usr/share/include/llhttp" NO_DEFAULT_PATH)
find_file(LLHTTP_SOURCE llhttp.c PATHS "${EDGE_DEPS}/usr/share/llhttp" NO_DEFAULT_PATH)
edge_require(LLHTTP_INCLUDE_DIR "llhttp.h (node-llhttp, unpacked)")
edge_require(LLHTTP_SOURCE "llhttp C sources (node-llhttp, unpacked)")
get_filename_component(LLHTTP_SOURCE_DIR "${LLHTTP_SOURCE}" DIRECTORY)
# An OBJECT library: libnode.so exports its own, older llhttp (6.x, another
# struct layout) under the same names. Objects linked into our archives are
# always taken before the linker looks at libnode.so; a separate static
# library could lose to it, depending on link order.
add_library(edge_llhttp OBJECT "${LLHTTP_SOURCE_DIR}/llhttp.c" "${LLHTTP_SOURCE_DIR}/api.c"
                               "${LLHTTP_SOURCE_DIR}/http.c")
target_include_directories(edge_llhttp SYSTEM PUBLIC "${LLHTTP_INCLUDE_DIR}")
set_target_properties(edge_llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 99)

find_package(PkgConfig)
edge_require(PKG_CONFIG_FOUND "pkg-config")
pkg_check_modules(LIBUV IMPORTED_TARGET libuv)
edge_require(LIBUV_FOUND "libuv (libuv1-dev)")
pkg_check_modules(LMDB IMPORTED_TARGET lmdb)
edge_require(LMDB_FOUND "LMDB (liblmdb-dev)")
pkg_check_modules(ICU IMPORTED_TARGET icu-uc icu-i18n)
edge_require(ICU_FOUND "ICU (libicu-dev)")
pkg_check_modules(BROTLI IMPORTED_TARGET libbrotlienc libbrotlidec)
edge_require(BROTLI_FOUND "brotli (libbrotli-dev)")
# RE2: the gateway's JSON Schema `pattern`s, matched in linear time.
pkg_check_modules(RE2 IMPORTED_TARGET re2)
edge_require(RE2_FOUND "RE2 (libre2-dev)")

find_package(OpenSSL 3.0 QUIET)
edge_require(OPENSSL_FOUND "OpenSSL 3 (libssl-dev)")
find_package(ZLIB QUIET)
edge_require(ZLIB_FOUND "zlib (zlib1g-dev)")
find_package(fmt QUIET)
edge_require(fmt_FOUND "fmt (libfmt-dev)")
find_package(simdjson QUIET)
edge_require(simdjson_FOUND "simdjson (libsimdjson-dev)")
find_package(tomlplusplus QUIET)
edge_require(tomlplusplus_FOUND "toml++ (libtomlplusplus-dev)")
find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp)
edge_require(CLI11_INCLUDE_DIR "CLI11 (libcli11-dev)")
find_package(Threads REQUIRED)

if(EDGE_BUILD_TESTS)
  find_package(GTest QUIET)
  edge_require(GTest_FOUND "GoogleTest (libgtest-dev, libgmock-dev)")
  # The official JSON-Schema-Test-Suite, whose draft-07 cases the gateway's
  # schema validator runs (gateway/policy/json_schema_suite_test.cc).
  find_path(JSON_SCHEMA_TEST_SUITE_DIR tests/draft7/type.json
            PATHS /usr/share/json-schema-test-suite NO_DEFAULT_PATH)
  edge_require(JSON_SCHEMA_TEST_SUITE_DIR "the JSON Schema test suite (json-schema-test-suite)")
endif()
