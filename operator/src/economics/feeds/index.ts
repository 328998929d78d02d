export { FeedRegistry, type FeedReading, type FeedRegistryOptions, type FeedRequest } from './registry.js';
export { checkFeedValue, FEED_MAX, FeedValueError, redactUrl, type FeedKind } from './value.js';
export { FeedFetchError, fetchJson, type HttpFetchOptions } from './http.js';
export { rpcBlockReward, rpcCall, rpcDifficulty, type RpcCredentials } from './litecoind.js';
