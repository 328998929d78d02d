/**
 * litecoind (or dogecoind) JSON-RPC as a feed: difficulty from getmininginfo, block reward from
 * getblocktemplate's coinbasevalue (satoshis: subsidy plus the fees of the template).
 */
import { FeedFetchError, fetchJson, type HttpFetchOptions } from './http.js';
import { redactUrl } from './value.js';

export interface RpcCredentials {
  username: string;
  password: string;
}

export async function rpcCall(url: string, creds: RpcCredentials, method: string, params: unknown[], opts: HttpFetchOptions): Promise<unknown> {
  const auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
  const reply = await fetchJson(url, opts, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${auth}` },
    body: JSON.stringify({ jsonrpc: '1.0', id: 'minefleet', method, params }),
  }).catch((err: unknown) => {
    // litecoind answers 401 with an empty body to a wrong login: say so, without the login
    if (err instanceof FeedFetchError && /HTTP 401/.test(err.message))
      throw new FeedFetchError(`${redactUrl(url)}: ${method}: RPC login refused (HTTP 401); check the credentials Secret`, false);
    throw err;
  });
  const r = reply as { result?: unknown; error?: { code?: number; message?: string } | null };
  if (r === null || typeof r !== 'object') throw new FeedFetchError(`${redactUrl(url)}: ${method}: reply is not a JSON-RPC object`, false);
  if (r.error) throw new FeedFetchError(`${redactUrl(url)}: ${method}: RPC error ${r.error.code ?? ''} ${r.error.message ?? ''}`.trim(), false);
  return r.result;
}

export async function rpcDifficulty(url: string, creds: RpcCredentials, opts: HttpFetchOptions): Promise<unknown> {
  const info = (await rpcCall(url, creds, 'getmininginfo', [], opts)) as { difficulty?: unknown } | null;
  if (info === null || typeof info !== 'object') throw new FeedFetchError(`${redactUrl(url)}: getmininginfo: result is not an object`, false);
  return info.difficulty;
}

export async function rpcBlockReward(url: string, creds: RpcCredentials, opts: HttpFetchOptions): Promise<unknown> {
  const tpl = (await rpcCall(url, creds, 'getblocktemplate', [{ rules: ['segwit', 'mweb'] }], opts)) as { coinbasevalue?: unknown } | null;
  if (tpl === null || typeof tpl !== 'object') throw new FeedFetchError(`${redactUrl(url)}: getblocktemplate: result is not an object`, false);
  return typeof tpl.coinbasevalue === 'number' ? tpl.coinbasevalue / 1e8 : tpl.coinbasevalue;
}
