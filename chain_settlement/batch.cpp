// Transfer batches. Compute units per instruction are the classic SPL Token
// program's (REFERENCE.md: Transfer 4,645 CU, TransferChecked 6,200 CU), so the
// limit also holds on clusters without p-token.
#include "chain_settlement/batch.h"

#include <algorithm>

#include "chain_settlement/lookup_table.h"

namespace flotilla::chain {
namespace {

__extension__ using u128 = unsigned __int128;  // GCC/Clang extension

constexpr std::uint32_t kTransferUnits = 4645;
constexpr std::uint32_t kTransferCheckedUnits = 6200;
// ComputeBudget instructions, the memo (logging and UTF-8 check of 32 bytes)
// and headroom: generous, since running out fails the whole batch.
constexpr std::uint32_t kFixedUnits = 20000;
// ATA CreateIdempotent that creates the account (CPIs into the System and
// Token programs): an estimate with headroom, not a measured figure.
constexpr std::uint32_t kCreateAccountUnits = 40000;

}  // namespace

std::string settlement_memo(std::uint64_t epoch, std::string_view merkle_root_hex) {
  std::string memo = "flotilla:" + std::to_string(epoch) + ":" + std::string(merkle_root_hex);
  if (memo.size() > 32) memo.resize(32);
  return memo;
}

TransferBatcher::TransferBatcher(PayerAccounts accounts, TransferDesign design,
                                 std::vector<LookupTable> tables)
    : accounts_(accounts), design_(std::move(design)), tables_(std::move(tables)) {}

std::uint32_t TransferBatcher::compute_unit_limit(std::size_t transfers,
                                                  std::size_t creations) const {
  const std::uint32_t per = design_.checked ? kTransferCheckedUnits : kTransferUnits;
  return kFixedUnits + per * static_cast<std::uint32_t>(transfers) +
         kCreateAccountUnits * static_cast<std::uint32_t>(creations);
}

std::uint64_t TransferBatcher::fee_lamports(std::size_t transfers, std::size_t creations) const {
  std::uint64_t fee = kLamportsPerSignature;  // one signer: the payer
  if (design_.compute_budget && design_.micro_lamports_per_unit > 0) {
    // ceil(price x limit / 1e6), in 128 bits so no price overflows.
    const u128 micro = static_cast<u128>(design_.micro_lamports_per_unit) *
                       compute_unit_limit(transfers, creations);
    fee += static_cast<std::uint64_t>((micro + 999999) / 1000000);
  }
  return fee;
}

std::vector<Instruction> TransferBatcher::instructions(std::span<const Transfer> transfers) const {
  std::vector<Instruction> ixs;
  ixs.reserve(2 * transfers.size() + 3);
  const auto creations = static_cast<std::size_t>(std::count_if(
      transfers.begin(), transfers.end(), [](const Transfer& t) { return t.create_for; }));
  if (design_.compute_budget) {
    ixs.push_back(set_compute_unit_limit(compute_unit_limit(transfers.size(), creations)));
    ixs.push_back(set_compute_unit_price(design_.micro_lamports_per_unit));
  }
  if (!design_.memo.empty()) ixs.push_back(memo(design_.memo));
  const PayerAccounts& a = accounts_;
  for (const Transfer& t : transfers) {
    if (t.create_for) {
      ixs.push_back(create_associated_token_account_idempotent(a.payer, *t.create_for, a.mint));
    }
    ixs.push_back(design_.checked ? token_transfer_checked(a.source, a.mint, t.destination, a.payer,
                                                           t.amount, a.decimals)
                                  : token_transfer(a.source, t.destination, a.payer, t.amount));
  }
  return ixs;
}

Result<CompiledMessage> TransferBatcher::compile(std::span<const Transfer> transfers,
                                                 const Blockhash& blockhash) const {
  const std::vector<Instruction> ixs = instructions(transfers);
  return compile_message(design_.version, accounts_.payer, ixs, blockhash, tables_);
}

Result<std::vector<std::size_t>> TransferBatcher::pack(std::span<const Transfer> transfers) const {
  const Blockhash any{};  // the blockhash is fixed-size, so its value does not matter
  auto fits = [&](std::size_t begin, std::size_t n) -> Result<bool> {
    auto m = compile(transfers.subspan(begin, n), any);
    if (!m) return m.status();
    return m->fits();
  };
  std::vector<std::size_t> runs;
  for (std::size_t begin = 0; begin < transfers.size();) {
    // Adding a transfer never shrinks a transaction, so the largest run that
    // fits is found by bisection; no run is ever longer than the lock limit.
    std::size_t lo = 0, hi = std::min(transfers.size() - begin, kMaxAccountLocks);
    while (lo < hi) {
      const std::size_t mid = (lo + hi + 1) / 2;
      auto ok = fits(begin, mid);
      if (!ok) return ok.status();
      if (*ok) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    if (lo == 0) {
      return Status::error("a single transfer to " + transfers[begin].destination.to_base58() +
                           " does not fit a transaction");
    }
    runs.push_back(lo);
    begin += lo;
  }
  return runs;
}

std::size_t recipients_per_table(const PayerAccounts& accounts, const TransferDesign& design) {
  constexpr std::size_t kRoom = kLookupTableMaxAddresses - 2;  // after the source and the mint
  std::vector<Pubkey> addresses{accounts.source, accounts.mint};
  std::vector<Transfer> transfers;
  for (std::size_t i = 0; i < kRoom; ++i) {
    Pubkey k = accounts.source;
    k.bytes[0] ^= static_cast<std::uint8_t>(i + 1);  // distinct from each other and the source
    k.bytes[1] ^= 0x5a;
    addresses.push_back(k);
    transfers.push_back({k, 1, std::nullopt});
  }
  const TransferBatcher batcher(accounts, design, {LookupTable(accounts.source, addresses)});
  auto runs = batcher.pack(transfers);
  const std::size_t per_tx = runs && !runs->empty() ? runs->front() : kRoom;
  return kRoom / per_tx * per_tx;
}

}  // namespace flotilla::chain
