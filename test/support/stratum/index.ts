// Stratum V1 test pool (TCP or TLS) fed by litecoind -regtest; see pool.ts.
//
//   const ltc = await startLitecoind();
//   const pool = await startStratumPool({ litecoind: ltc, difficulty: 0.001 });
//   // point a miner at pool.url (and pool.caFile / pool.serverName with { tls: true })
//   await waitFor(() => pool.blocks.some((b) => b.accepted));   // litecoind accepted a block
//   await pool.stop();
//
// Notes for tests: on regtest (bits 207fffff) about every other hash is a block, so nearly every
// share at difficulty <= 0.0001..0.001 is also a block candidate that the pool submits (and the
// chain moves on, with a clean job). Blocks past regtest height 432 carry MWEB data; the pool
// handles that (it makes the peg-in the first MWEB block needs from litecoind's wallet).
export { startStratumPool, StratumError, type BlockRecord, type LitecoindRpc, type ShareRecord, type StratumPool, type StratumPoolOptions } from './pool.js';
export { TEST_POOL_SERVER_NAME, WRONG_HOST_SERVER_NAME, type TestCertificateKind } from './tls-cert.js';
export type { Job } from './job.js';
