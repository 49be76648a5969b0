# asyncode_embed_python(TARGET OUTPUT name=path ...): compile Python modules with the
# embedded interpreter's own version and add the marshalled code to TARGET's sources.
function(asyncode_embed_python target output)
  set(specs)
  set(deps)
  foreach(pair IN LISTS ARGN)
    string(REPLACE "=" ";" parts "${pair}")
    list(GET parts 0 name)
    list(GET parts 1 path)
    get_filename_component(abs "${path}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND specs "${name}=${abs}")
    list(APPEND deps "${abs}")
  endforeach()
  add_custom_command(
    OUTPUT "${output}"
    COMMAND "${Python3_EXECUTABLE}" -I "${PROJECT_SOURCE_DIR}/tools/embed_python.py" "${output}" ${specs}
    DEPENDS ${deps} "${PROJECT_SOURCE_DIR}/tools/embed_python.py"
    COMMENT "Embedding the engine's Python modules"
    VERBATIM)
  target_sources(${target} PRIVATE "${output}")
endfunction()
