# The runtime's JavaScript: each folder that owns an API lists its files with
# edge_js(), in the order they are evaluated; the folders are added in the
# order their APIs depend on each other (runtime/CMakeLists.txt, then
# bindings/CMakeLists.txt). edge_embed_js() then compiles every listed file
# into the binary (cmake/EmbedJs.cmake) as the library edge_js.

# edge_js(FILES...): appends files of the current folder to the evaluation order.
function(edge_js)
  foreach(file IN LISTS ARGN)
    set_property(GLOBAL APPEND PROPERTY EDGE_JS_FILES "${CMAKE_CURRENT_SOURCE_DIR}/${file}")
  endforeach()
endfunction()

# edge_node_js(FILES...): the node: modules of the current folder (the
# nodejs_compat flag), kept apart from the evaluation order: a worker
# evaluates one only when it imports it (runtime/node/node_modules.h).
function(edge_node_js)
  foreach(file IN LISTS ARGN)
    set_property(GLOBAL APPEND PROPERTY EDGE_NODE_JS_FILES "${CMAKE_CURRENT_SOURCE_DIR}/${file}")
  endforeach()
endfunction()

# edge_lazy_js(FILES...): runtime files of the current folder that are not
# evaluated with the others (nor in the startup snapshot) but in an isolate
# the first time it reads one of the names runtime/js/globals.js declares
# for them (runtime/lazy_js.h). Evaluated after every file edge_js lists, so
# they may use anything those put on `internals`.
function(edge_lazy_js)
  foreach(file IN LISTS ARGN)
    set_property(GLOBAL APPEND PROPERTY EDGE_LAZY_JS_FILES "${CMAKE_CURRENT_SOURCE_DIR}/${file}")
  endforeach()
endfunction()

# edge_embed_js(): the library holding kRuntimeJs, kLazyJs and kNodeJs
# (runtime/js_sources.h).
function(edge_embed_js)
  get_property(files GLOBAL PROPERTY EDGE_JS_FILES)
  get_property(lazy_files GLOBAL PROPERTY EDGE_LAZY_JS_FILES)
  get_property(node_files GLOBAL PROPERTY EDGE_NODE_JS_FILES)
  set(out "${CMAKE_BINARY_DIR}/js_sources.cc")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} "-DOUT=${out}" "-DFILES=${files}" "-DLAZY_FILES=${lazy_files}" "-DNODE_FILES=${node_files}" "-DROOT=${PROJECT_SOURCE_DIR}"
            -P "${PROJECT_SOURCE_DIR}/cmake/EmbedJs.cmake"
    DEPENDS ${files} ${lazy_files} ${node_files} "${PROJECT_SOURCE_DIR}/cmake/EmbedJs.cmake"
    COMMENT "Embedding the runtime's JavaScript"
    VERBATIM)
  add_library(edge_js STATIC "${out}")
  target_include_directories(edge_js PUBLIC "${PROJECT_SOURCE_DIR}")
endfunction()
