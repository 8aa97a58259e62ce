#include "executor/proof_of_compute.h"

#include <sodium.h>

#include <cmath>
#include <unordered_set>

#include "executor/probe_json.h"
#include "executor/proof_matrix.h"
#include "executor/proof_sha256.h"

namespace flotilla::proof {

using nlohmann::json;
using probe_json::field_error;
using probe_json::from_hex;
using probe_json::read;
using probe_json::to_hex;

std::string_view precision_name(Precision p) {
  switch (p) {
    case Precision::kBf16Fp32:
      return "bf16-fp32acc";
  }
  return "?";
}

std::optional<Precision> find_precision(std::string_view name) {
  if (name == precision_name(Precision::kBf16Fp32)) return Precision::kBf16Fp32;
  return std::nullopt;
}

namespace {

Digest sha256(const std::vector<std::uint8_t>& bytes) {
  Digest d;
  crypto_hash_sha256(d.data(), bytes.data(), bytes.size());
  return d;
}

void append_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace

std::vector<std::uint32_t> challenge_rows(const Digest& secret, const Digest& root, std::uint32_t n,
                                          std::uint32_t k) {
  std::vector<std::uint32_t> rows;
  std::unordered_set<std::uint32_t> seen;
  for (std::uint32_t counter = 0; rows.size() < k && seen.size() < n; ++counter) {
    std::vector<std::uint8_t> msg(secret.begin(), secret.end());
    msg.insert(msg.end(), root.begin(), root.end());
    append_u32(msg, counter);
    const Digest d = sha256(msg);
    std::uint64_t draw = 0;
    for (int i = 0; i < 8; ++i) draw |= std::uint64_t{d[i]} << (8 * i);
    // 2^64 mod n (n <= 2^14) biases a row by less than 2^-50: negligible.
    const auto row = static_cast<std::uint32_t>(draw % n);
    if (seen.insert(row).second) rows.push_back(row);
  }
  return rows;
}

Digest row_leaf(std::uint32_t row, const std::vector<float>& values) {
  Digest d;
  row_leaf_hash(row, values.data(), static_cast<std::uint32_t>(values.size()), d.data());
  return d;
}

std::vector<ReferenceRow> reference_rows(std::uint64_t seed, std::uint32_t n,
                                         const std::vector<std::uint32_t>& rows) {
  std::vector<ReferenceRow> out(rows.size(),
                                ReferenceRow{std::vector<double>(n), std::vector<double>(n)});
  std::vector<double> b_row(n);
  for (std::uint32_t k = 0; k < n; ++k) {
    for (std::uint32_t j = 0; j < n; ++j) b_row[j] = matrix_element(seed, Operand::kB, n, k, j);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const double a = matrix_element(seed, Operand::kA, n, rows[r], k);
      for (std::uint32_t j = 0; j < n; ++j) {
        const double p = a * b_row[j];
        out[r].exact[j] += p;  // exact: multiples of 2^-8 below 2^14 (proof_matrix.h)
        out[r].magnitude[j] += std::fabs(p);
      }
    }
  }
  return out;
}

Status check_challenge(const Challenge& c) {
  if (c.n < kMatrixSideMultiple || c.n > kMaxMatrixSide || c.n % kMatrixSideMultiple != 0) {
    return Status::error("matrix side " + std::to_string(c.n) + " is not a multiple of " +
                         std::to_string(kMatrixSideMultiple) + " in [" +
                         std::to_string(kMatrixSideMultiple) + ", " +
                         std::to_string(kMaxMatrixSide) + "]");
  }
  return Status::ok();
}

Result<std::vector<std::uint32_t>> rows_to_open(const Challenge& challenge,
                                                const Commitment& commitment,
                                                const OpeningRequest& request) {
  if (sha256(std::vector<std::uint8_t>(request.secret.begin(), request.secret.end())) !=
      challenge.secret_hash) {
    return Status::error("the verifier's secret does not match the hash in its challenge");
  }
  if (request.rows == 0 || request.rows > challenge.n) {
    return Status::error("asked to open " + std::to_string(request.rows) + " of " +
                         std::to_string(challenge.n) + " rows");
  }
  return challenge_rows(request.secret, commitment.root, challenge.n, request.rows);
}

// ---- JSON ----

namespace {

std::string hex(const Digest& d) {
  return to_hex(d.data(), d.size());
}

Status read_digest(const json& j, const char* key, Digest& out, const std::string& origin) {
  std::string s;
  if (Status st = read(j, key, s, origin); !st) return st;
  if (!from_hex(s, out.data(), out.size())) return field_error(origin, key, "is not 64 hex digits");
  return Status::ok();
}

std::string values_hex(const std::vector<float>& values) {
  return to_hex(reinterpret_cast<const std::uint8_t*>(values.data()),
                values.size() * sizeof(float));
}

}  // namespace

json to_json(const Challenge& c) {
  std::uint8_t seed[8];
  for (int i = 0; i < 8; ++i) seed[i] = static_cast<std::uint8_t>(c.seed >> (56 - 8 * i));
  return json{{"seed", to_hex(seed, 8)},
              {"n", c.n},
              {"precision", precision_name(c.precision)},
              {"secret_hash", hex(c.secret_hash)},
              {"claimed_class", c.claimed_class}};
}

json to_json(const Commitment& c) {
  return json{{"n", c.n}, {"root", hex(c.root)}};
}

json to_json(const OpeningRequest& r) {
  return json{{"secret", hex(r.secret)}, {"rows", r.rows}};
}

json to_json(const Opening& o) {
  json rows = json::array();
  for (const RowOpening& r : o.rows) {
    json proof = json::array();
    for (const Digest& d : r.proof) proof.push_back(hex(d));
    rows.push_back(json{{"row", r.row}, {"values", values_hex(r.values)}, {"proof", proof}});
  }
  return json{{"rows", rows}};
}

json to_json(const Verdict& v) {
  return json{{"accepted", v.accepted},           {"reason", v.reason},
              {"elapsed_ns", v.elapsed.count()},  {"measured_tflops", v.measured_tflops},
              {"claimed_class", v.claimed_class}, {"fastest_class", v.fastest_class}};
}

Result<Challenge> challenge_from_json(const json& j, const std::string& origin) {
  Challenge c;
  std::string seed, precision;
  if (Status s = read(j, "seed", seed, origin); !s) return s;
  std::uint8_t bytes[8];
  if (!from_hex(seed, bytes, 8)) return field_error(origin, "seed", "is not 16 hex digits");
  for (int i = 0; i < 8; ++i) c.seed = c.seed << 8 | bytes[i];
  if (Status s = read(j, "n", c.n, origin); !s) return s;
  if (Status s = read(j, "precision", precision, origin); !s) return s;
  const auto p = find_precision(precision);
  if (!p) return field_error(origin, "precision", "unknown precision '" + precision + "'");
  c.precision = *p;
  if (Status s = read_digest(j, "secret_hash", c.secret_hash, origin); !s) return s;
  if (Status s = read(j, "claimed_class", c.claimed_class, origin); !s) return s;
  if (Status s = check_challenge(c); !s) return field_error(origin, "n", s.message());
  return c;
}

Result<Commitment> commitment_from_json(const json& j, const std::string& origin) {
  Commitment c;
  if (Status s = read(j, "n", c.n, origin); !s) return s;
  if (Status s = read_digest(j, "root", c.root, origin); !s) return s;
  return c;
}

Result<OpeningRequest> opening_request_from_json(const json& j, const std::string& origin) {
  OpeningRequest r;
  if (Status s = read_digest(j, "secret", r.secret, origin); !s) return s;
  if (Status s = read(j, "rows", r.rows, origin); !s) return s;
  return r;
}

Result<Opening> opening_from_json(const json& j, const std::string& origin) {
  json rows;
  if (Status s = read(j, "rows", rows, origin); !s) return s;
  if (!rows.is_array()) return field_error(origin, "rows", "is not an array");
  Opening o;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string where = origin + ": rows[" + std::to_string(i) + "]";
    RowOpening r;
    std::string values;
    std::vector<std::string> proof;
    if (Status s = read(rows[i], "row", r.row, where); !s) return s;
    if (Status s = read(rows[i], "values", values, where); !s) return s;
    if (values.size() % (2 * sizeof(float)) != 0) {
      return field_error(where, "values", "is not a whole number of FP32 values in hex");
    }
    r.values.resize(values.size() / (2 * sizeof(float)));
    if (!from_hex(values, reinterpret_cast<std::uint8_t*>(r.values.data()),
                  r.values.size() * sizeof(float))) {
      return field_error(where, "values", "is not hex");
    }
    if (Status s = read(rows[i], "proof", proof, where); !s) return s;
    for (const std::string& h : proof) {
      Digest d;
      if (!from_hex(h, d.data(), d.size())) return field_error(where, "proof", "has a bad hash");
      r.proof.push_back(d);
    }
    o.rows.push_back(std::move(r));
  }
  return o;
}

Result<Verdict> verdict_from_json(const json& j, const std::string& origin) {
  Verdict v;
  std::int64_t ns = 0;
  if (Status s = read(j, "accepted", v.accepted, origin); !s) return s;
  if (Status s = read(j, "reason", v.reason, origin); !s) return s;
  if (Status s = read(j, "elapsed_ns", ns, origin); !s) return s;
  v.elapsed = std::chrono::nanoseconds(ns);
  if (Status s = read(j, "measured_tflops", v.measured_tflops, origin); !s) return s;
  if (Status s = read(j, "claimed_class", v.claimed_class, origin); !s) return s;
  if (Status s = read(j, "fastest_class", v.fastest_class, origin); !s) return s;
  return v;
}

}  // namespace flotilla::proof
