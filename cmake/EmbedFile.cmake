# flotilla_embed_file(OUT_CPP INPUT SYMBOL): turns a data file (the GPU catalog,
# ...) into a C++ source defining `extern const std::string_view SYMBOL`, so the
# binary never depends on where it was installed. Regenerated when INPUT changes.
function(flotilla_embed_file out_cpp input symbol)
  add_custom_command(
    OUTPUT ${out_cpp}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${input} -DOUTPUT=${out_cpp} -DSYMBOL=${symbol}
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedFileScript.cmake
    DEPENDS ${input} ${PROJECT_SOURCE_DIR}/cmake/EmbedFileScript.cmake
    COMMENT "Embedding ${input}")
endfunction()
