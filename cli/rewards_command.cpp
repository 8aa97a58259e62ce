// `flotilla rewards`: the operator's end of the money path.
//   rewards --epoch E --meter F --providers F --policy F -o STATEMENT [--carry-from PREV] [--csv F]
//   rewards verify STATEMENT [--meter F --providers F --policy F [--carry-from PREV]]
//   rewards explain STATEMENT --provider P
//   rewards proof STATEMENT --provider P
//   rewards check-proof PROOF [--root HEX]
// The reward model itself lives in reward_model/; this file only wires files,
// options and exit codes to it.
#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <variant>

#include "cli/commands.h"
#include "reward_model/merkle.h"
#include "reward_model/rewards.h"
#include "reward_model/statement.h"
#include "reward_model/wallet.h"

namespace flotilla::cli {
namespace {

namespace po = boost::program_options;
using namespace flotilla::rewards;

constexpr const char* kUsage =
    "usage: flotilla rewards --epoch E --meter FILE --providers FILE --policy FILE -o STATEMENT\n"
    "                        [--carry-from PREVIOUS_STATEMENT] [--csv FILE]\n"
    "       flotilla rewards verify STATEMENT [--meter F --providers F --policy F "
    "[--carry-from P]]\n"
    "       flotilla rewards explain STATEMENT --provider P\n"
    "       flotilla rewards proof STATEMENT --provider P\n"
    "       flotilla rewards check-proof PROOF [--root HEX]\n";

po::variables_map parse(const Args& args, po::options_description& options,
                        const char* positional = nullptr) {
  po::positional_options_description pos;
  if (positional) pos.add(positional, 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(options).positional(pos).run(), vm);
  po::notify(vm);
  return vm;
}

void add_input_options(po::options_description& options) {
  options.add_options()                                                                  //
      ("meter", po::value<std::string>(), "metering records of the epoch (JSON Lines)")  //
      ("providers", po::value<std::string>(), "provider registry (CSV)")                 //
      ("policy", po::value<std::string>(), "reward policy (TOML)")                       //
      ("carry-from", po::value<std::string>(), "statement of the previous epoch");
}

EpochFiles files_of(const po::variables_map& vm, std::uint64_t epoch) {
  EpochFiles f{.epoch = epoch,
               .meter = vm["meter"].as<std::string>(),
               .providers = vm["providers"].as<std::string>(),
               .policy = vm["policy"].as<std::string>(),
               .carry_from = std::nullopt};
  if (vm.count("carry-from")) f.carry_from = vm["carry-from"].as<std::string>();
  return f;
}

bool has_inputs(const po::variables_map& vm) {
  return vm.count("meter") && vm.count("providers") && vm.count("policy");
}

int compute(const Args& args) {
  po::options_description options("flotilla rewards: compute one epoch's statement");
  options.add_options()                                                                    //
      ("help,h", "print this help")                                                        //
      ("epoch", po::value<std::uint64_t>(), "epoch number (policy genesis is epoch 0)")    //
      ("output,o", po::value<std::string>(), "statement to write (JSON; never replaced)")  //
      ("csv", po::value<std::string>(), "also write provider,wallet,amount,carry as CSV");
  add_input_options(options);
  const po::variables_map vm = parse(args, options);
  if (vm.count("help")) {
    std::cout << kUsage << '\n' << options;
    return 0;
  }
  if (!vm.count("epoch") || !vm.count("output") || !has_inputs(vm)) {
    std::cerr << kUsage;
    return 2;
  }
  Result<Statement> s = statement_from_files(files_of(vm, vm["epoch"].as<std::uint64_t>()));
  if (!s) {
    std::cerr << s.message() << '\n';
    return 1;
  }
  const std::string out = vm["output"].as<std::string>();
  // A CSV that could not be written must stop the JSON too: nothing half-written.
  const std::string csv = vm.count("csv") ? statement_csv(*s) : "";
  if (vm.count("csv")) {
    if (Status st = check_immutable(vm["csv"].as<std::string>(), csv); !st) {
      std::cerr << st.message() << '\n';
      return 1;
    }
  }
  if (Status st = write_statement(out, *s); !st) {
    std::cerr << st.message() << '\n';
    return 1;
  }
  if (vm.count("csv")) {
    if (Status st = write_immutable(vm["csv"].as<std::string>(), csv); !st) {
      std::cerr << st.message() << '\n';
      return 1;
    }
  }
  std::uint64_t paid = 0, carried = 0;
  for (const Payout& p : s->payouts) paid += p.amount;
  for (const Carry& c : s->carry) carried += c.amount;
  std::cout << "epoch " << s->epoch << ": emission " << s->emission << " + carry in " << s->carry_in
            << " = paid " << paid << " to " << s->payouts.size() << " providers + carried "
            << carried << " for " << s->carry.size() << " + unallocated " << s->unallocated
            << "\nmerkle_root " << s->merkle_root << "\nwrote " << out << '\n';
  return 0;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

int verify(const Args& args) {
  po::options_description options("flotilla rewards verify: check a statement");
  options.add_options()("help,h", "print this help")  //
      ("statement", po::value<std::string>(), "statement to check");
  add_input_options(options);
  const po::variables_map vm = parse(args, options, "statement");
  if (vm.count("help")) {
    std::cout << kUsage << '\n' << options;
    return 0;
  }
  const bool some_inputs = vm.count("meter") || vm.count("providers") || vm.count("policy");
  if (!vm.count("statement") || (some_inputs && !has_inputs(vm))) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string path = vm["statement"].as<std::string>();
  Result<Statement> s = read_statement(path);  // sums, accounts, Merkle root
  if (!s) {
    std::cerr << s.message() << '\n';
    return 1;
  }
  if (some_inputs) {
    const EpochFiles files = files_of(vm, s->epoch);
    // Name the input that changed before comparing amounts.
    for (auto [file, recorded] : {std::pair{&files.meter, &s->inputs.meter_sha256},
                                  std::pair{&files.providers, &s->inputs.providers_sha256},
                                  std::pair{&files.policy, &s->inputs.policy_sha256}}) {
      Result<std::string> d = file_sha256(*file);
      if (!d) {
        std::cerr << d.message() << '\n';
        return 1;
      }
      if (*d != *recorded) {
        std::cerr << path << ": " << *file << " is not the file the statement was computed from "
                  << "(sha256 " << *d << ", statement has " << *recorded << ")\n";
        return 1;
      }
    }
    Result<Statement> again = statement_from_files(files);
    if (!again) {
      std::cerr << again.message() << '\n';
      return 1;
    }
    if (statement_json(*again) != read_bytes(path)) {
      std::cerr << path << ": recomputing from the inputs gives a different statement\n";
      return 1;
    }
  }
  std::cout << path << ": ok (epoch " << s->epoch << ", " << s->payouts.size()
            << " payouts, sums and merkle_root check"
            << (some_inputs ? ", recomputed from the inputs byte for byte" : "") << ")\n";
  return 0;
}

const Account* find_account(const Statement& s, const std::string& provider) {
  for (const Account& a : s.accounts) {
    if (a.provider == provider) return &a;
  }
  return nullptr;
}

// `rewards explain|proof STATEMENT --provider P`: the statement and provider,
// or the exit code when there is nothing to do (help) or the input is bad.
struct ProviderQuery {
  std::string path, provider;
  Result<Statement> statement = Status::error("not read");
};
std::variant<ProviderQuery, int> provider_query(const Args& args, const char* title) {
  po::options_description options(title);
  options.add_options()("help,h", "print this help")        //
      ("statement", po::value<std::string>(), "statement")  //
      ("provider", po::value<std::string>(), "provider id");
  const po::variables_map vm = parse(args, options, "statement");
  if (vm.count("help")) {
    std::cout << kUsage << '\n' << options;
    return 0;
  }
  if (!vm.count("statement") || !vm.count("provider")) {
    std::cerr << kUsage;
    return 2;
  }
  ProviderQuery q{vm["statement"].as<std::string>(), vm["provider"].as<std::string>()};
  q.statement = read_statement(q.path);
  if (!q.statement) {
    std::cerr << q.statement.message() << '\n';
    return 1;
  }
  return q;
}

int explain(const Args& args) {
  std::variant<ProviderQuery, int> query =
      provider_query(args, "flotilla rewards explain: why a provider got its amount");
  if (const int* code = std::get_if<int>(&query)) return *code;
  const std::string& path = std::get<ProviderQuery>(query).path;
  const std::string& provider = std::get<ProviderQuery>(query).provider;
  Result<Statement>& s = std::get<ProviderQuery>(query).statement;
  const Account* a = find_account(*s, provider);
  if (!a) {
    for (const Carry& c : s->carry) {
      if (c.provider != provider) continue;
      std::cout << "provider " << provider << " is not registered in epoch " << s->epoch << "; "
                << c.amount << " held for it is carried unchanged\n";
      return 0;
    }
    std::cerr << path << ": no provider '" << provider << "' in epoch " << s->epoch << '\n';
    return 1;
  }
  Uint128 work_total = 0, online_total = 0;
  std::uint64_t work_pool = 0, online_pool = 0;
  for (const Account& b : s->accounts) {
    work_total += b.work_score;
    online_total += b.availability_score;
    work_pool += b.work_amount;
    online_pool += b.availability_amount;
  }
  std::cout << "provider " << a->provider << ", epoch " << s->epoch << " [" << s->epoch_start
            << ", " << s->epoch_end << "), wallet " << a->wallet << "\n"
            << "  weight     " << a->weight << " per GPU-second (" << a->gpu_type << ")\n"
            << "  work       " << a->records << " records, " << a->work_gpu_seconds
            << " GPU-s credited x " << a->weight << " = "
            << to_decimal(Uint128{a->work_gpu_seconds} * a->weight) << "\n"
            << "  penalty    " << a->fault_records << " records lost to provider faults, "
            << a->fault_gpu_seconds << " GPU-s -> -" << a->penalty << "\n"
            << "  work score " << a->work_score << " of " << to_decimal(work_total) << " -> "
            << a->work_amount << " of the work pool " << work_pool << "\n"
            << "  online     " << a->online_gpu_seconds << " GPU-s x " << a->weight << " = "
            << a->availability_score << " of " << to_decimal(online_total) << " -> "
            << a->availability_amount << " of the availability pool " << online_pool << "\n"
            << "  cap        " << (a->capped ? "-" + std::to_string(a->capped) : "not reached")
            << "\n"
            << "  earned     " << a->earned << " + carry in " << a->carry_in << " = "
            << a->earned + a->carry_in << " (minimum payout " << s->min_payout << ")\n"
            << "  paid       " << a->paid << ", carried to epoch " << s->epoch + 1 << ": "
            << a->carry_out << "\n";
  return 0;
}

int proof(const Args& args) {
  std::variant<ProviderQuery, int> query =
      provider_query(args, "flotilla rewards proof: Merkle proof of one payout");
  if (const int* code = std::get_if<int>(&query)) return *code;
  const std::string& path = std::get<ProviderQuery>(query).path;
  const std::string& provider = std::get<ProviderQuery>(query).provider;
  Result<Statement>& s = std::get<ProviderQuery>(query).statement;
  std::size_t index = 0;
  while (index < s->payouts.size() && s->payouts[index].provider != provider) ++index;
  if (index == s->payouts.size()) {
    std::cerr << path << ": provider '" << provider << "' is not paid in epoch " << s->epoch
              << " (nothing to prove; see rewards explain)\n";
    return 1;
  }
  const std::vector<Digest> leaves = payout_leaves(*s).value();  // checked by read_statement
  nlohmann::ordered_json j;
  j["epoch"] = s->epoch;
  j["provider"] = provider;
  j["wallet"] = s->payouts[index].wallet;
  j["amount"] = s->payouts[index].amount;
  j["leaf_index"] = index;
  j["leaf"] = to_hex(leaves[index]);
  j["proof"] = nlohmann::ordered_json::array();
  for (const ProofStep& step : merkle_proof(leaves, index)) {
    j["proof"].push_back(
        {{"side", step.sibling_is_left ? "left" : "right"}, {"hash", to_hex(step.sibling)}});
  }
  j["merkle_root"] = s->merkle_root;
  std::cout << j.dump(2) << '\n';
  return 0;
}

// Checks a proof from its own fields only, as a provider would.
int check_proof(const Args& args) {
  po::options_description options("flotilla rewards check-proof: check one payout's proof");
  options.add_options()("help,h", "print this help")                           //
      ("proof", po::value<std::string>(), "proof (JSON, from rewards proof)")  //
      ("root", po::value<std::string>(), "root to check against (default: the proof's)");
  const po::variables_map vm = parse(args, options, "proof");
  if (vm.count("help")) {
    std::cout << kUsage << '\n' << options;
    return 0;
  }
  if (!vm.count("proof")) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string path = vm["proof"].as<std::string>();
  const nlohmann::json j = nlohmann::json::parse(read_bytes(path), nullptr, false);
  auto bad = [&](const std::string& what) {
    std::cerr << path << ": " << what << '\n';
    return 1;
  };
  if (!j.is_object() || !j.contains("epoch") || !j["epoch"].is_number_unsigned() ||
      !j.contains("amount") || !j["amount"].is_number_unsigned() || !j.contains("provider") ||
      !j["provider"].is_string() || !j.contains("wallet") || !j["wallet"].is_string() ||
      !j.contains("proof") || !j["proof"].is_array() || !j.contains("merkle_root") ||
      !j["merkle_root"].is_string()) {
    return bad("not a proof (epoch, provider, wallet, amount, proof, merkle_root)");
  }
  const std::optional<WalletKey> wallet = decode_wallet(j["wallet"].get<std::string>());
  if (!wallet) return bad("wallet is not base58 of 32 bytes");
  std::vector<ProofStep> steps;
  for (const auto& step : j["proof"]) {
    const std::optional<Digest> h =
        step.is_object() && step.contains("hash") && step["hash"].is_string()
            ? digest_from_hex(step["hash"].get<std::string>())
            : std::nullopt;
    const std::string side = step.is_object() ? step.value("side", "") : "";
    if (!h || (side != "left" && side != "right")) return bad("malformed proof step");
    steps.push_back(ProofStep{.sibling_is_left = side == "left", .sibling = *h});
  }
  const std::string root =
      vm.count("root") ? vm["root"].as<std::string>() : j["merkle_root"].get<std::string>();
  const Digest leaf =
      payout_leaf(j["epoch"].get<std::uint64_t>(), *wallet, j["amount"].get<std::uint64_t>(),
                  j["provider"].get<std::string>());
  const std::string reached = to_hex(root_from_proof(leaf, steps));
  if (reached != root)
    return bad("proof does not lead to root " + root + " (reaches " + reached + ")");
  std::cout << "ok: " << j["amount"].get<std::uint64_t>() << " to "
            << j["provider"].get<std::string>() << " in epoch " << j["epoch"].get<std::uint64_t>()
            << " is under root " << root << '\n';
  return 0;
}

}  // namespace

int rewards_command(const Args& args) {
  if (!args.empty()) {
    const Args rest(args.begin() + 1, args.end());
    if (args[0] == "verify") return verify(rest);
    if (args[0] == "explain") return explain(rest);
    if (args[0] == "proof") return proof(rest);
    if (args[0] == "check-proof") return check_proof(rest);
  }
  return compute(args);
}

}  // namespace flotilla::cli
