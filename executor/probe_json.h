// Reading typed fields out of JSON messages with one clear error each, and hex
// for byte strings. Internal to executor/ (the probe report and the
// proof-of-compute messages share it).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scheduler/status.h"

namespace flotilla::probe_json {

// "origin: field 'key': what".
inline Status field_error(const std::string& origin, const char* key, const std::string& what) {
  return Status::error(origin + ": field '" + key + "': " + what);
}

// Reads j[key] into `out`: missing fields and wrong types are errors.
template <class T>
Status read(const nlohmann::json& j, const char* key, T& out, const std::string& origin) {
  if (!j.is_object()) return Status::error(origin + ": expected a JSON object");
  const auto it = j.find(key);
  if (it == j.end()) return field_error(origin, key, "missing");
  try {
    out = it->template get<T>();
  } catch (const nlohmann::json::exception&) {
    return field_error(origin, key, "has the wrong type (" + std::string(it->type_name()) + ")");
  }
  return Status::ok();
}

std::string to_hex(const std::uint8_t* bytes, std::size_t size);
// Exactly `size` bytes from lower- or upper-case hex; false otherwise.
bool from_hex(const std::string& hex, std::uint8_t* out, std::size_t size);

}  // namespace flotilla::probe_json
