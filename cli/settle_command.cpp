// `flotilla settle`: pays a statement on Solana, exactly once, safe from cron.
//   settle STATEMENT --keypair K --mint M --rpc URL [--ledger L] [--tables T] [--dry-run]
//          [--create-accounts] [--legacy] [--checked] [--priority-fee MICRO_LAMPORTS]
//          [--confirm-timeout SECONDS]
//   settle status STATEMENT [--ledger L]
//   settle verify STATEMENT --rpc URL [--ledger L]
//   settle close-tables --tables T --keypair K --mint M --rpc URL
// Exit codes for cron: 0 done or nothing to do, 1 partly done (run again),
// 2 bad input or usage, 3 chain unreachable. The work is in chain_settlement/.
#include <signal.h>

#include <boost/program_options.hpp>
#include <cstdlib>
#include <iostream>
#include <string>

#include "chain_settlement/settle.h"
#include "cli/commands.h"

namespace flotilla::cli {
namespace {

namespace po = boost::program_options;
using namespace flotilla::chain;

constexpr const char* kUsage =
    "usage: flotilla settle STATEMENT --keypair FILE --mint ADDRESS --rpc URL [--dry-run] ...\n"
    "       flotilla settle status STATEMENT [--ledger FILE]\n"
    "       flotilla settle verify STATEMENT --rpc URL [--ledger FILE]\n"
    "       flotilla settle close-tables --tables FILE --keypair FILE --mint ADDRESS --rpc URL\n"
    "exit codes: 0 done or nothing to do, 1 partly done (run again), 2 bad input,\n"
    "            3 chain unreachable\n";

po::variables_map parse(const Args& args, const po::options_description& options) {
  po::positional_options_description pos;
  pos.add("statement", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(options).positional(pos).run(), vm);
  po::notify(vm);
  return vm;
}

std::string ledger_of(const po::variables_map& vm) {
  if (vm.count("ledger")) return vm["ledger"].as<std::string>();
  return vm["statement"].as<std::string>() + ".ledger";
}

int report(const SettleReport& r) {
  std::ostream& out = r.outcome == SettleOutcome::kDone ? std::cout : std::cerr;
  for (const std::string& line : r.lines) out << line << '\n';
  return static_cast<int>(r.outcome);
}

// FLOTILLA_SETTLE_CRASH=POINT:N (recorded, sent, confirmed, table) kills the process
// with SIGKILL the Nth time it passes POINT: the crash tests' seam.
std::function<void(CrashPoint)> crash_hook_from_env() {
  const char* spec = std::getenv("FLOTILLA_SETTLE_CRASH");
  if (!spec) return {};
  const std::string s = spec;
  const auto colon = s.find(':');
  const std::string name = s.substr(0, colon);
  const CrashPoint point = name == "recorded" ? CrashPoint::kRecorded
                           : name == "sent"   ? CrashPoint::kSent
                           : name == "table"  ? CrashPoint::kTableSetup
                                              : CrashPoint::kConfirmed;
  const int at = colon == std::string::npos ? 1 : std::atoi(s.c_str() + colon + 1);
  return [point, at, seen = 0](CrashPoint p) mutable {
    if (p == point && ++seen == at) ::raise(SIGKILL);
  };
}

}  // namespace

int settle_command(const Args& args) {
  const std::string sub = args.empty() ? "" : args[0];
  po::options_description options("flotilla settle");
  options.add_options()                                                                 //
      ("help,h", "print this help")                                                     //
      ("statement", po::value<std::string>(), "the epoch statement (JSON)")             //
      ("keypair", po::value<std::string>(), "payer keypair file (solana-keygen)")       //
      ("mint", po::value<std::string>(), "token mint address")                          //
      ("rpc", po::value<std::string>(), "Solana JSON-RPC URL")                          //
      ("ledger", po::value<std::string>(), "payout ledger (default STATEMENT.ledger)")  //
      ("tables", po::value<std::string>(),
       "lookup-table registry shared by all epochs (default lookup-tables.sqlite next to the "
       "ledger)")                                             //
      ("dry-run", "print the plan; send and record nothing")  //
      ("create-accounts",
       "create missing recipient token accounts (payer pays the rent) instead of deferring")  //
      ("legacy", "legacy transactions instead of v0")                                         //
      ("checked", "TransferChecked (mint and decimals checked on chain)")                     //
      ("priority-fee", po::value<std::uint64_t>()->default_value(0),
       "compute unit price in micro-lamports")  //
      ("confirm-timeout", po::value<unsigned>()->default_value(120),
       "seconds to wait for confirmations before giving up for this run");
  const bool status = sub == "status", verify = sub == "verify", close = sub == "close-tables";
  const po::variables_map vm =
      parse(status || verify || close ? Args(args.begin() + 1, args.end()) : args, options);
  if (vm.count("help")) {
    std::cout << kUsage << '\n' << options;
    return 0;
  }
  if (close) {
    if (!vm.count("tables") || !vm.count("keypair") || !vm.count("mint") || !vm.count("rpc")) {
      std::cerr << kUsage;
      return 2;
    }
    return report(close_lookup_tables(SettleRequest{
        .keypair = vm["keypair"].as<std::string>(),
        .mint = vm["mint"].as<std::string>(),
        .rpc_url = vm["rpc"].as<std::string>(),
        .tables = vm["tables"].as<std::string>(),
        .confirm_timeout = std::chrono::seconds(vm["confirm-timeout"].as<unsigned>()),
    }));
  }
  if (!vm.count("statement")) {
    std::cerr << kUsage;
    return 2;
  }
  if (status) return report(settle_status(ledger_of(vm)));
  if (!vm.count("rpc") || (!verify && (!vm.count("keypair") || !vm.count("mint")))) {
    std::cerr << kUsage;
    return 2;
  }
  if (verify) {
    return report(settle_verify(vm["statement"].as<std::string>(), ledger_of(vm),
                                vm["rpc"].as<std::string>(), RpcOptions{}));
  }
  SettleRequest req{
      .statement = vm["statement"].as<std::string>(),
      .keypair = vm["keypair"].as<std::string>(),
      .ledger = ledger_of(vm),
      .mint = vm["mint"].as<std::string>(),
      .rpc_url = vm["rpc"].as<std::string>(),
      .tables = vm.count("tables") ? vm["tables"].as<std::string>() : "",
      .dry_run = vm.count("dry-run") > 0,
      .create_accounts = vm.count("create-accounts") > 0,
      .design = TransferDesign{.version = vm.count("legacy") ? MessageVersion::kLegacy
                                                             : MessageVersion::kV0,
                               .checked = vm.count("checked") > 0,
                               .compute_budget = true,
                               .micro_lamports_per_unit = vm["priority-fee"].as<std::uint64_t>()},
      .confirm_timeout = std::chrono::seconds(vm["confirm-timeout"].as<unsigned>()),
      .rpc = RpcOptions{},
      .progress = [](const std::string& line) { std::cout << line << '\n'
                                                          << std::flush; },
      .crash_hook = crash_hook_from_env(),
  };
  return report(settle(req));
}

}  // namespace flotilla::cli
