// A Solana JSON-RPC endpoint on 127.0.0.1 over LiteSVM, for flotilla's tests.
//
// Each URL path is its own chain (http://127.0.0.1:PORT/NAME), created on first
// use, so tests that run at the same time never see each other's accounts or
// faults. Standard methods answer as a public RPC node does (Solana JSON-RPC
// API, https://solana.com/docs/rpc); methods named flotilla_* set up state and
// inject faults and are never refused by a fault.
//
//   node server.mjs [--port N] [--port-file FILE] [--slot-ms MS]
//
// Block height is simulated: it moves only when a test advances it
// (flotilla_advanceBlocks), and a blockhash stays valid for 150 blocks as on
// mainnet; LiteSVM accepts only its latest blockhash, so the blockhash is
// expired (replaced) exactly when the height passes its last valid height.
//
// Slots also pass with time (one per --slot-ms, 20 ms by default, where
// mainnet takes about 400), as address lookup tables need: an extended table
// is usable from the next slot, CreateLookupTable wants a slot that is in the
// SlotHashes sysvar, and a deactivated table closes once its slot has left
// SlotHashes. LiteSVM's warpToSlot moves only the clock, so the server keeps
// SlotHashes itself as a bank does (the 512 most recent slots before the
// current one, newest first). getSlot answers the current slot at commitment
// "processed" and its parent (already in SlotHashes) otherwise.
//
// getTransaction serves the part of the real answer settlement reads: slot,
// version, the transaction (base64), meta.err, meta.loadedAddresses and
// meta.pre/postTokenBalances, recorded when the transaction ran.
import http from "node:http";
import fs from "node:fs";
import { LiteSVM } from "litesvm";
import { getAddressCodec, getBase58Codec } from "@solana/kit";
import { findAssociatedTokenPda } from "@solana-program/token";

const addresses = getAddressCodec();
const base58 = getBase58Codec();
const TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
const BLOCKHASH_LIFETIME = 150n;
const SLOT_HASHES_MAX = 512;
const LOOKUP_TABLE_META_SIZE = 56;

// TransactionErrorFieldless in litesvm's internal.d.ts, by number.
const TX_ERRORS = ["AccountInUse", "AccountLoadedTwice", "AccountNotFound",
  "ProgramAccountNotFound", "InsufficientFundsForFee", "InvalidAccountForFee", "AlreadyProcessed",
  "BlockhashNotFound", "CallChainTooDeep", "MissingSignatureForFee", "InvalidAccountIndex",
  "SignatureFailure", "InvalidProgramForExecution", "SanitizeFailure", "ClusterMaintenance",
  "AccountBorrowOutstanding", "WouldExceedMaxBlockCostLimit", "UnsupportedVersion",
  "InvalidWritableAccount", "WouldExceedMaxAccountCostLimit", "WouldExceedAccountDataBlockLimit",
  "TooManyAccountLocks", "AddressLookupTableNotFound", "InvalidAddressLookupTableOwner",
  "InvalidAddressLookupTableData", "InvalidAddressLookupTableIndex", "InvalidRentPayingAccount"];

class RpcError extends Error {
  constructor(code, message, data) { super(message); this.code = code; this.data = data; }
}

function errorJson(err) {
  if (typeof err === "number") return TX_ERRORS[err] ?? `TransactionError${err}`;
  if (err && typeof err.index === "number" && typeof err.err === "function") {
    const inner = err.err();
    const detail = typeof inner === "number" ? `InstructionError${inner}`
                 : inner && typeof inner.code === "number" ? { Custom: inner.code }
                 : String(inner);
    return { InstructionError: [err.index, detail] };
  }
  return String(err);
}

class Chain {
  constructor(slotMs) {
    this.svm = new LiteSVM();
    this.height = 1000n;
    this.statuses = new Map();  // signature (base58) -> { slot, err }
    this.transactions = new Map();  // signature (base58) -> getTransaction's answer
    this.faults = { dropResponses: 0, loseTransactions: 0, errors: 0, unreachable: false, delayMs: 0 };
    this.slotMs = slotMs;
    this.started = Date.now();
    this.warped = 0n;  // slots added by flotilla_advanceBlocks
    this.firstSlot = this.slot();
    this.slotHashes = this.svm.inner.getSlotHashes().map((h) => ({ slot: h.slot, hash: h.hash }));
    this.issueBlockhash();
  }
  issueBlockhash() {
    this.blockhash = this.svm.inner.latestBlockhash();
    this.lastValid = this.height + BLOCKHASH_LIFETIME;
  }
  slot() { return this.svm.inner.getClock().slot; }
  // Moves the clock to where time and advanceBlocks put it; every slot passed
  // enters SlotHashes.
  tick() {
    const elapsed = BigInt(Math.floor((Date.now() - this.started) / this.slotMs));
    const target = this.firstSlot + this.warped + elapsed;
    const from = this.slot();
    if (target <= from) return;
    for (let s = target - BigInt(SLOT_HASHES_MAX) > from ? target - BigInt(SLOT_HASHES_MAX) : from;
         s < target; s++) {
      if (this.slotHashes.length && this.slotHashes[0].slot >= s) continue;
      this.slotHashes.unshift({ slot: s, hash: this.blockhash });
    }
    this.slotHashes.length = Math.min(this.slotHashes.length, SLOT_HASHES_MAX);
    this.svm.inner.setSlotHashes(this.slotHashes);
    this.svm.warpToSlot(target);
  }
  advance(blocks) {
    this.height += blocks;
    this.warped += blocks;
    this.tick();
    if (this.height > this.lastValid) {
      this.svm.inner.expireBlockhash();
      this.issueBlockhash();
    }
  }
  // SPL token balances of `keys`, as getTransaction's pre/postTokenBalances.
  tokenBalances(keys) {
    const out = [];
    keys.forEach((key, accountIndex) => {
      const a = this.svm.inner.getAccount(addresses.encode(key));
      if (!a || addresses.decode(a.owner()) !== TOKEN_PROGRAM || a.data().length !== 165) return;
      const data = Buffer.from(a.data());
      const mint = addresses.decode(data.subarray(0, 32));
      const m = this.svm.inner.getAccount(data.subarray(0, 32));
      out.push({ accountIndex, mint, owner: addresses.decode(data.subarray(32, 64)),
                 programId: TOKEN_PROGRAM,
                 uiTokenAmount: { amount: data.readBigUInt64LE(64).toString(),
                                  decimals: m ? m.data()[44] : 0 } });
    });
    return out;
  }
  // The addresses a v0 message loads from lookup tables, as they stand now.
  loadedAddresses(lookups) {
    const loaded = { writable: [], readonly: [] };
    for (const l of lookups) {
      const t = this.svm.inner.getAccount(addresses.encode(l.table));
      if (!t) return null;
      const data = Buffer.from(t.data());
      const at = (i) => addresses.decode(data.subarray(LOOKUP_TABLE_META_SIZE + 32 * i,
                                                       LOOKUP_TABLE_META_SIZE + 32 * (i + 1)));
      l.writable.forEach((i) => loaded.writable.push(at(i)));
      l.readonly.forEach((i) => loaded.readonly.push(at(i)));
    }
    return loaded;
  }
  account(address) {
    const a = this.svm.inner.getAccount(addresses.encode(address));
    if (!a) return null;
    return { lamports: Number(a.lamports()), owner: addresses.decode(a.owner()),
             data: [Buffer.from(a.data()).toString("base64"), "base64"],
             executable: a.executable(), rentEpoch: Number(a.rentEpoch()),
             space: a.data().length };
  }
}

// litesvm's Account class is not exported by name from the package root; take
// it from an account the runtime already holds (the Token program).
function accountClass(svm) {
  const a = svm.inner.getAccount(addresses.encode(TOKEN_PROGRAM));
  return a.constructor;
}

const chains = new Map();
function chainFor(path) {
  if (!chains.has(path)) chains.set(path, new Chain(slotMs));
  const chain = chains.get(path);
  chain.tick();
  return chain;
}

// The static keys and address-table lookups of a wire transaction (legacy or v0).
function parseTransaction(bytes) {
  let at = 0;
  const compact = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      value |= (b & 0x7f) << shift;
      if (!(b & 0x80)) return value;
    }
  };
  const key = () => { const k = addresses.decode(bytes.subarray(at, at + 32)); at += 32; return k; };
  const signatures = compact();
  at += 64 * signatures;
  const v0 = (bytes[at] & 0x80) !== 0;
  if (v0) at++;
  at += 3;
  const keys = Array.from({ length: compact() }, key);
  at += 32;
  const skip = () => { const n = compact(); at += n; };
  const indexes = () => Array.from({ length: compact() }, () => bytes[at++]);
  const instructions = compact();
  for (let i = 0; i < instructions; i++) {
    at++;  // program index
    skip();  // account indexes
    skip();  // data
  }
  const lookups = [];
  if (v0) {
    const n = compact();
    for (let i = 0; i < n; i++) {
      const table = key();
      const writable = indexes();
      lookups.push({ table, writable, readonly: indexes() });
    }
  }
  return { version: v0 ? 0 : "legacy", keys, lookups };
}

function u64le(value) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(value)); return b; }

function mintData(authority, supply, decimals) {
  const b = Buffer.alloc(82);
  b.writeUInt32LE(1, 0);
  Buffer.from(addresses.encode(authority)).copy(b, 4);
  u64le(supply).copy(b, 36);
  b[44] = decimals;
  b[45] = 1;  // initialized; no freeze authority
  return b;
}

function tokenAccountData(mint, owner, amount) {
  const b = Buffer.alloc(165);
  Buffer.from(addresses.encode(mint)).copy(b, 0);
  Buffer.from(addresses.encode(owner)).copy(b, 32);
  u64le(amount).copy(b, 64);
  b[108] = 1;  // AccountState::Initialized
  return b;
}

function put(chain, address, lamports, data, owner) {
  const Account = accountClass(chain.svm);
  chain.svm.inner.setAccount(addresses.encode(address),
                             new Account(BigInt(lamports), data, addresses.encode(owner), false, 0n));
}

function rent(chain, len) { return chain.svm.inner.minimumBalanceForRentExemption(BigInt(len)); }

function context(chain) { return { slot: Number(chain.slot()) }; }

function send(chain, params) {
  const [encoded, config = {}] = params;
  if (config.encoding !== "base64") throw new RpcError(-32602, "only base64 encoding is served");
  const bytes = Buffer.from(encoded, "base64");
  // Signature count is a compact-u16; settlement transactions have one signer.
  const signature = base58.decode(bytes.subarray(1, 65));
  if (chain.faults.loseTransactions > 0) {
    chain.faults.loseTransactions--;
    return signature;  // accepted, then lost by the leader: it never lands
  }
  if (!config.skipPreflight) {
    const sim = chain.svm.inner.simulateVersionedTransaction(bytes);
    if (typeof sim.err === "function") {
      throw new RpcError(-32002, "Transaction simulation failed: " + String(errorJson(sim.err())),
                         { err: errorJson(sim.err()), logs: sim.meta().logs() });
    }
  }
  const parsed = parseTransaction(bytes);
  const loaded = chain.loadedAddresses(parsed.lookups) ?? { writable: [], readonly: [] };
  const keys = [...parsed.keys, ...loaded.writable, ...loaded.readonly];
  const preTokenBalances = chain.tokenBalances(keys);
  const result = chain.svm.inner.sendVersionedTransaction(bytes);
  let err = null;
  if (typeof result.err === "function") {
    err = errorJson(result.err());
    // Only transactions that paid a fee are in the history; others never landed.
    if (chain.svm.inner.getTransaction(bytes.subarray(1, 65)) === null) {
      throw new RpcError(-32002, "Transaction simulation failed: " + JSON.stringify(err), { err });
    }
  }
  if (chain.statuses.has(signature)) return signature;  // a rebroadcast the runtime refused
  const slot = Number(chain.slot());
  chain.statuses.set(signature, { slot, err });
  chain.transactions.set(signature, {
    slot, version: parsed.version, transaction: [encoded, "base64"],
    meta: { err, loadedAddresses: loaded, preTokenBalances,
            postTokenBalances: chain.tokenBalances(keys) } });
  return signature;
}

const methods = {
  getHealth: () => "ok",
  getSlot: (chain, [config = {}]) =>
    Number(config.commitment === "processed" ? chain.slot() : chain.slot() - 1n),
  getTransaction: (chain, [signature]) => chain.transactions.get(signature) ?? null,
  getBlockHeight: (chain) => Number(chain.height),
  getLatestBlockhash: (chain) => ({ context: context(chain),
    value: { blockhash: chain.blockhash, lastValidBlockHeight: Number(chain.lastValid) } }),
  getMinimumBalanceForRentExemption: (chain, [len]) => Number(rent(chain, len)),
  getBalance: (chain, [address]) => ({ context: context(chain),
    value: Number(chain.svm.inner.getBalance(addresses.encode(address)) ?? 0n) }),
  getAccountInfo: (chain, [address]) => ({ context: context(chain), value: chain.account(address) }),
  getMultipleAccounts: (chain, [list]) => {
    if (list.length > 100) throw new RpcError(-32602, "Too many inputs provided; max 100");
    return { context: context(chain), value: list.map((a) => chain.account(a)) };
  },
  getTokenAccountBalance: (chain, [address]) => {
    const a = chain.svm.inner.getAccount(addresses.encode(address));
    if (!a || addresses.decode(a.owner()) !== TOKEN_PROGRAM || a.data().length !== 165) {
      throw new RpcError(-32602, "Invalid param: not a Token account");
    }
    const data = Buffer.from(a.data());
    const mint = chain.svm.inner.getAccount(data.subarray(0, 32));
    const decimals = mint ? mint.data()[44] : 0;
    const amount = data.readBigUInt64LE(64).toString();
    return { context: context(chain), value: { amount, decimals } };
  },
  getSignatureStatuses: (chain, [signatures]) => {
    if (signatures.length > 256) throw new RpcError(-32602, "Too many inputs provided; max 256");
    return { context: context(chain), value: signatures.map((s) => {
      const st = chain.statuses.get(s);
      return st ? { slot: st.slot, confirmations: null, err: st.err,
                    status: st.err ? { Err: st.err } : { Ok: null },
                    confirmationStatus: "finalized" } : null;
    }) };
  },
  sendTransaction: send,

  // Test set-up.
  flotilla_airdrop: (chain, [address, lamports]) => {
    const r = chain.svm.inner.airdrop(addresses.encode(address), BigInt(lamports));
    if (r && typeof r.err === "function") throw new RpcError(-32000, "airdrop failed");
    return null;
  },
  flotilla_createMint: (chain, [mint, authority, decimals]) => {
    put(chain, mint, rent(chain, 82), mintData(authority, 0, decimals), TOKEN_PROGRAM);
    return null;
  },
  // Creates (or overwrites) `owner`'s associated token account with `amount`
  // tokens, adding them to the mint's supply; returns its address.
  flotilla_createTokenAccount: async (chain, [owner, mint, amount]) => {
    const [ata] = await findAssociatedTokenPda({ owner, mint, tokenProgram: TOKEN_PROGRAM });
    const m = chain.svm.inner.getAccount(addresses.encode(mint));
    if (!m) throw new RpcError(-32602, "no such mint");
    const md = Buffer.from(m.data());
    u64le(md.readBigUInt64LE(36) + BigInt(amount)).copy(md, 36);
    put(chain, mint, m.lamports(), md, TOKEN_PROGRAM);
    put(chain, ata, rent(chain, 165), tokenAccountData(mint, owner, amount), TOKEN_PROGRAM);
    return ata;
  },
  flotilla_advanceBlocks: (chain, [blocks]) => { chain.advance(BigInt(blocks)); return Number(chain.height); },
  // Faults: { dropResponses, loseTransactions, errors: counts of the next
  // sendTransaction/any calls affected; unreachable; delayMs }.
  flotilla_setFaults: (chain, [faults]) => { Object.assign(chain.faults, faults); return chain.faults; },
};

function reply(res, body, status = 200) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function handle(req, res, text) {
  const chain = chainFor(req.url);
  let request;
  try { request = JSON.parse(text); } catch {
    return reply(res, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
  }
  const { id = null, method, params = [] } = request;
  const f = chain.faults;
  const control = typeof method === "string" && method.startsWith("flotilla_");
  if (!control) {
    if (f.unreachable) return req.socket.destroy();
    if (f.delayMs > 0) await new Promise((r) => setTimeout(r, f.delayMs));
    if (f.errors > 0) {
      f.errors--;
      return reply(res, { jsonrpc: "2.0", id, error: { code: -32005, message: "Node is unhealthy" } }, 503);
    }
  }
  const fn = methods[method];
  if (!fn) return reply(res, { jsonrpc: "2.0", id, error: { code: -32601, message: "Method not found" } });
  try {
    const result = await fn(chain, params);
    if (method === "sendTransaction" && f.dropResponses > 0) {
      f.dropResponses--;
      return req.socket.destroy();  // executed, but the caller never hears back
    }
    reply(res, { jsonrpc: "2.0", id, result });
  } catch (e) {
    const error = e instanceof RpcError ? { code: e.code, message: e.message, data: e.data }
                                        : { code: -32603, message: String(e && e.message || e) };
    reply(res, { jsonrpc: "2.0", id, error });
  }
}

const args = process.argv.slice(2);
const option = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const slotMs = Number(option("--slot-ms") ?? 20);
const server = http.createServer((req, res) => {
  let text = "";
  req.setEncoding("utf8");
  req.on("data", (chunk) => { text += chunk; });
  req.on("end", () => { handle(req, res, text); });
});
server.listen(Number(option("--port") ?? 0), "127.0.0.1", () => {
  const port = server.address().port;
  const portFile = option("--port-file");
  if (portFile) {
    fs.writeFileSync(portFile + ".tmp", `${port}\n`);
    fs.renameSync(portFile + ".tmp", portFile);
  }
  console.log(`flotilla testnet: http://127.0.0.1:${port}/`);
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
