import { z } from 'zod';
import { withCel } from './cel.js';
import { dnsSubdomainName, httpUrl, secretKey } from './validators.js';
import { STALE_FEED_POLICIES } from './constants.js';
import { JSON_FIELD_PATH_PATTERN } from './fieldpath.js';

export const HttpJsonFeedSchema = z
  .object({
    url: httpUrl('http:// or https:// URL that returns a JSON document.', 'spec.economics.feeds.<coin>.<feed>.http.url'),
    fieldPath: z
      .string()
      .min(1)
      .max(256)
      .regex(new RegExp(JSON_FIELD_PATH_PATTERN))
      .meta({ description: 'Dot path to the number in the JSON document, e.g. "litecoin.usd" or "data[0].price".' }),
    refreshSeconds: z.int().min(10).max(86400).default(300).meta({ description: 'Seconds between two fetches.' }),
  })
  .meta({ description: 'Read the value from an HTTP endpoint that returns JSON.' });
export type HttpJsonFeed = z.output<typeof HttpJsonFeedSchema>;

export const LitecoindRpcFeedSchema = z
  .object({
    url: httpUrl(
      'JSON-RPC endpoint of a litecoind (or dogecoind) node, e.g. http://litecoind.mining:9332.',
      'spec.economics.feeds.<coin>.<feed>.litecoind.url',
    ),
    credentialsSecretRef: z
      .object({
        name: dnsSubdomainName('Name of the Secret (same namespace) holding the RPC login.'),
        userKey: secretKey('Key in the Secret holding the RPC username.').default('username'),
        passwordKey: secretKey('Key in the Secret holding the RPC password.').default('password'),
      })
      .meta({ description: 'Secret with the RPC username and password.' }),
    refreshSeconds: z.int().min(5).max(86400).default(60).meta({ description: 'Seconds between two RPC calls.' }),
  })
  .meta({
    description: 'Read the value from a node over JSON-RPC: difficulty from getmininginfo, block reward from getblocktemplate (coinbasevalue).',
  });
export type LitecoindRpcFeed = z.output<typeof LitecoindRpcFeedSchema>;

type FeedName = 'price' | 'difficulty' | 'blockReward';

const FEED_DESCRIPTIONS: Record<FeedName, string> = {
  price: 'Coin price in the electricityPrice currency.',
  difficulty: 'Network difficulty.',
  blockReward: 'Block reward in coins.',
};

/** A feed value: a static number, an HTTP JSON source or a litecoind RPC source (exactly one). */
function feedSource(coin: string, feed: FeedName) {
  const path = `spec.economics.feeds.${coin}.${feed}`;
  const rpcAllowed = feed !== 'price';
  const sources = rpcAllowed ? 'value, http or litecoind' : 'value or http';
  const count = (f: { value?: number | undefined; http?: unknown; litecoind?: unknown }) =>
    (f.value !== undefined ? 1 : 0) + (f.http !== undefined ? 1 : 0) + (f.litecoind !== undefined ? 1 : 0);
  return withCel(
    z
      .object({
        value: z.number().min(0).optional().meta({ description: 'A static value.' }),
        http: HttpJsonFeedSchema.optional(),
        litecoind: LitecoindRpcFeedSchema.optional(),
      })
      .meta({ description: `${FEED_DESCRIPTIONS[feed]} Set exactly one of ${sources}.` }),
    [
      {
        rule: '(has(self.value) ? 1 : 0) + (has(self.http) ? 1 : 0) + (has(self.litecoind) ? 1 : 0) == 1',
        message: `${path} must set exactly one of ${sources}`,
        holds: (f) => count(f) === 1,
      },
      ...(rpcAllowed
        ? []
        : [
            {
              rule: '!has(self.litecoind)',
              message: `${path}.litecoind is not allowed: a node cannot report a price; use value or http`,
              fieldPath: '.litecoind',
              reason: 'FieldValueForbidden' as const,
              holds: (f: { litecoind?: unknown }) => f.litecoind === undefined,
            },
          ]),
    ],
  );
}

function coinFeeds(coin: 'LTC' | 'DOGE') {
  return z
    .object({
      price: feedSource(coin, 'price'),
      difficulty: feedSource(coin, 'difficulty'),
      blockReward: feedSource(coin, 'blockReward'),
    })
    .meta({ description: `Where the ${coin} price, network difficulty and block reward come from.` });
}

export const CoinFeedsSchema = coinFeeds('LTC');
export type CoinFeeds = z.output<typeof CoinFeedsSchema>;
export type FeedSource = CoinFeeds['price'];

export const FeedsSchema = z
  .object({
    LTC: coinFeeds('LTC').optional(),
    DOGE: coinFeeds('DOGE').optional(),
  })
  .meta({ description: 'Market and network data per coin. Each coin the active pool pays out needs an entry.' });

export const PowerSchema = withCel(
  z
    .object({
      wattsPerMiner: z.number().gt(0).max(100000).optional().meta({ description: 'Constant power drawn by one miner pod with all its devices, in watts.' }),
      measured: z
        .object({
          metricName: z
            .string()
            .min(1)
            .max(200)
            .regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/)
            .default('minefleet_miner_power_watts')
            .meta({ description: 'Prometheus gauge (watts) exported by each miner pod.' }),
          fallbackWattsPerMiner: z
            .number()
            .gt(0)
            .max(100000)
            .optional()
            .meta({ description: 'Watts to assume for a miner that does not report the metric; without it such a miner counts as stale data.' }),
        })
        .optional()
        .meta({ description: 'Use the power each miner reports itself (e.g. USB ASICs with a power sensor).' }),
    })
    .meta({ description: 'Power draw of the fleet. Set exactly one of wattsPerMiner or measured.' }),
  [
    {
      rule: 'has(self.wattsPerMiner) != has(self.measured)',
      message: 'spec.economics.power must set exactly one of wattsPerMiner or measured',
      holds: (p) => (p.wattsPerMiner !== undefined) !== (p.measured !== undefined),
    },
  ],
);

export const ElectricityPriceSchema = z
  .object({
    perKWh: z.number().min(0).max(100).meta({ description: 'Price of one kilowatt-hour.' }),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .default('USD')
      .meta({ description: 'ISO 4217 currency code; coin price feeds must be quoted in the same currency.' }),
  })
  .meta({ description: 'What electricity costs.' });

export const EconomicsSchema = withCel(
  z
    .object({
      enabled: z.boolean().default(true).meta({ description: 'Evaluate profitability and suspend the fleet when mining does not pay.' }),
      power: PowerSchema.optional(),
      electricityPrice: ElectricityPriceSchema.optional(),
      feeds: FeedsSchema.optional(),
      minMarginPercent: z
        .number()
        .min(-100)
        .max(10000)
        .default(0)
        .meta({ description: 'Suspend when the margin (revenue - cost) / cost x 100 stays below this for evaluationWindowSeconds.' }),
      resumeMarginPercent: z.number().min(-100).max(10000).default(10).meta({
        description: 'Resume when the margin stays above this for evaluationWindowSeconds; must be >= minMarginPercent (the gap is the hysteresis).',
      }),
      evaluationWindowSeconds: z
        .int()
        .min(60)
        .max(86400)
        .default(900)
        .meta({ description: 'How long the margin must stay beyond a threshold before the fleet is suspended or resumed.' }),
      minOffSeconds: z.int().min(0).max(604800).default(1800).meta({ description: 'Minimum seconds between two suspend/resume flips (no flapping).' }),
      feedMaxAgeSeconds: z.int().min(30).max(604800).default(900).meta({ description: 'A feed value older than this is stale.' }),
      onStaleFeed: z
        .enum(STALE_FEED_POLICIES)
        .default('Hold')
        .meta({ description: 'What to do while a feed is stale or malformed: Hold keeps the current state, Suspend stops mining.' }),
    })
    .meta({
      description: 'Economic shutdown: suspend the fleet (scale to 0, keep spec.replicas) while revenue minus electricity cost is below the threshold.',
    }),
  [
    {
      rule: 'self.resumeMarginPercent >= self.minMarginPercent',
      message: 'spec.economics.resumeMarginPercent must be greater than or equal to spec.economics.minMarginPercent',
      fieldPath: '.resumeMarginPercent',
      holds: (e) => e.resumeMarginPercent >= e.minMarginPercent,
    },
    {
      rule: '!self.enabled || has(self.power)',
      message: 'spec.economics.power is required when spec.economics.enabled is true',
      fieldPath: '.power',
      reason: 'FieldValueRequired',
      holds: (e) => !e.enabled || e.power !== undefined,
    },
    {
      rule: '!self.enabled || has(self.electricityPrice)',
      message: 'spec.economics.electricityPrice is required when spec.economics.enabled is true',
      fieldPath: '.electricityPrice',
      reason: 'FieldValueRequired',
      holds: (e) => !e.enabled || e.electricityPrice !== undefined,
    },
    {
      rule: '!self.enabled || (has(self.feeds) && (has(self.feeds.LTC) || has(self.feeds.DOGE)))',
      message: 'spec.economics.feeds needs at least one coin (LTC or DOGE) when spec.economics.enabled is true',
      fieldPath: '.feeds',
      reason: 'FieldValueRequired',
      holds: (e) => !e.enabled || (e.feeds !== undefined && (e.feeds.LTC !== undefined || e.feeds.DOGE !== undefined)),
    },
  ],
);
export type Economics = z.output<typeof EconomicsSchema>;
