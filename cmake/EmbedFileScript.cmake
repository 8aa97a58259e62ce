# Script mode helper for flotilla_embed_file: writes INPUT as a raw string literal.
file(READ ${INPUT} content)
string(FIND "${content}" ")flotilla_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter")
endif()
file(WRITE ${OUTPUT}
  "// Generated from ${INPUT}; edit that file instead.\n#include <string_view>\n"
  "extern const std::string_view ${SYMBOL};\n"
  "const std::string_view ${SYMBOL} = R\"flotilla_embed(${content})flotilla_embed\";\n")
