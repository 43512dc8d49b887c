/**
 * Every Redis key, stream and channel name the system uses, in one place.
 *
 * The names in the operator contract (../shared/CONTRACT.md) are spelled
 * exactly as operators type them in redis-cli. A namespace prefix (empty by
 * default) lets tests and side-by-side deployments share one Redis server;
 * with the default empty namespace every name below is the contract's own.
 *
 * Keys that one batch commit (Lua script) touches together are listed in docs/ARCHITECTURE.md
 * ("Transactions and Cluster"). On Redis Cluster they must share a hash slot,
 * and they do because every name starts with the namespace, which then must
 * carry a hash tag (namespaceFor; decision 0007).
 */
import calculateSlot from 'cluster-key-slot';

/** The namespace on Redis Cluster when TP_NAMESPACE is not set: one hash tag for every key. */
export const CLUSTER_NAMESPACE = '{tp}';

/**
 * The hash tag a namespace gives every key it prefixes, by Redis' rule (the
 * text between the first "{" and the next "}", when not empty), or undefined
 * when the namespace alone does not decide the key's slot.
 */
export function namespaceHashTag(namespace: string): string | undefined {
  const open = namespace.indexOf('{');
  if (open < 0) return undefined;
  const close = namespace.indexOf('}', open + 1);
  return close > open + 1 ? namespace.slice(open + 1, close) : undefined;
}

/**
 * The namespace to use: as given on standalone Redis and Sentinel; on Redis
 * Cluster it must carry a hash tag (default CLUSTER_NAMESPACE), else the
 * batch commits, which span streams and state keys, could not run.
 */
export function namespaceFor(cluster: boolean, namespace: string | undefined): string {
  const ns = namespace ?? '';
  if (!cluster) return ns;
  if (ns === '') return CLUSTER_NAMESPACE;
  if (namespaceHashTag(ns) === undefined) {
    throw new Error(
      `TP_NAMESPACE "${ns}": on Redis Cluster the namespace must contain a hash tag such as "{tp}" or "{desk1}:", so that every key lands in one hash slot (or leave TP_NAMESPACE unset for "${CLUSTER_NAMESPACE}")`,
    );
  }
  return ns;
}

export type MetricName = 'edge_blended_bps' | 'position_size_usd' | 'var_pct';
export const METRIC_NAMES: readonly MetricName[] = ['edge_blended_bps', 'position_size_usd', 'var_pct'];

export type ServiceName = 'feed' | 'strategist' | 'risk-harmoniser' | 'executor' | 'web';
export const SERVICE_NAMES: readonly ServiceName[] = ['feed', 'strategist', 'risk-harmoniser', 'executor', 'web'];

export type ConfigComponent = 'risk_harmoniser' | 'model_router' | 'instruments';
export const CONFIG_COMPONENTS: readonly ConfigComponent[] = ['risk_harmoniser', 'model_router', 'instruments'];

export interface RedisKeys {
  /** The prefix of the control plane's keys (the one namespace every shard shares). */
  readonly namespace: string;
  /** The prefix of this shard's data-plane keys: the namespace itself with one shard (shards.ts). */
  readonly dataNamespace: string;
  // --- contract names -------------------------------------------------------
  /** pub/sub channel: hot-reload trigger. */
  readonly paramReload: string;
  /** string (JSON), EX 300: latest blended edge and sizing for a symbol. */
  edgeBlended(symbol: string): string;
  /** stream: one entry per model switch, trimmed to 24 h. */
  readonly modelSwitchLog: string;
  /**
   * RedisTimeSeries key; without the module the same name holds a sorted set
   * (score = ms timestamp, member = "<ts>:<value>") trimmed to the same retention.
   */
  timeSeries(metric: MetricName, symbol: string): string;
  /** hash: latest value, timestamp and labels of a metric. */
  metricsHash(metric: MetricName, symbol: string): string;
  /** hash: symbol → current volatility estimate. */
  readonly volatilityEstimates: string;
  /** streams of the data, strategy and order planes. */
  readonly marketEvents: string;
  readonly orderIntents: string;
  readonly execReports: string;
  // --- project names --------------------------------------------------------
  /** stream: strategist → risk-harmoniser predictions (one per symbol per batch). */
  readonly strategySignals: string;
  /** stream: entries that could not be parsed, with the reason. */
  readonly deadLetter: string;
  /** hash: latest tick per symbol, field layout of the Tick message. */
  lastTick(symbol: string): string;
  /** hash: symbol → last tick receive time (ms), for staleness checks. */
  readonly marketDataSeen: string;
  /** string (JSON): the strategist's per-symbol feature and routing state. */
  strategistState(symbol: string): string;
  /** string (JSON): the risk harmoniser's per-symbol volatility and return state. */
  riskState(symbol: string): string;
  /** hash: symbol → signed position VaR (percent of portfolio), for portfolio VaR. */
  readonly varContributions: string;
  /** string (JSON): EWMA return correlation across symbols. */
  readonly riskCorrelation: string;
  /** hash: symbol → latest price seen by the risk harmoniser. */
  readonly riskPrices: string;
  /** hash: portfolio-level risk (var_pct, at, kelly in effect, guard). */
  readonly riskPortfolio: string;
  /** hash: daily risk stats for a UTC day (trades, winning_trades, losing_trades, realized_pnl, net_pnl, peak_equity, max_drawdown_pct, unrealized_start). */
  dailyStats(day: string): string;
  /** string: venue errors counted in one minute (epoch minute). */
  venueErrors(minute: number): string;
  /** string (JSON): the position for a symbol (qty, avg_price, realized_pnl). */
  position(symbol: string): string;
  /** hash: one order, by client order id. */
  order(clientOrderId: string): string;
  /** sorted set: client order ids by creation time. */
  readonly orderIndex: string;
  /** sorted sets: client order ids by state (scored by last update), by symbol and by model (scored by creation). */
  ordersByState(state: string): string;
  ordersBySymbol(symbol: string): string;
  ordersByModel(model: string): string;
  /** set: venue trade ids already applied to an order (a fill is applied once). */
  orderFills(clientOrderId: string): string;
  /** stream: every order transition (client_order_id, event, from, to, quantities, reason). */
  readonly orderEvents: string;
  /** hash: client order id → signed quantity its open order still has to fill, per symbol. */
  working(symbol: string): string;
  /** string: bumped whenever a symbol's working or unsent orders change (what the target handler's commit compares). */
  orderSeq(symbol: string): string;
  /** hash: client order id → 1 for a symbol's orders recorded but not yet sent (NEW); a newer target decides them again. */
  unsent(symbol: string): string;
  /** string: the last denial reported for a symbol (one report per symbol per state change while halted). */
  denied(symbol: string): string;
  /** The stream id of the newest target an executor acted on for a symbol: an older one delivered later (to another replica) is stale. */
  lastTarget(symbol: string): string;
  /** stream: reports from a venue (fills, cancels, expiries) that arrive after the submit's answer. */
  venueReports(venue: string): string;
  /** BullMQ's key prefix (queues `orders-<venue>`, replays): carries the namespace's hash tag on Cluster. */
  readonly queuePrefix: string;
  /** string (EX 1 h): a cancellation asked for replay <id> (the replay worker stops at its next check). */
  replayCancel(id: string): string;
  /** hash: the last reconciliation with a venue (at, ok, error, counts). */
  reconciliation(venue: string): string;
  /** The paper venue's own state: an order, the open orders per symbol. */
  paperOrder(venueOrderId: string): string;
  paperOpen(symbol: string): string;
  /** hash: the paper venue's balances (asset → amount), what reconciliation compares positions with. */
  readonly paperBalances: string;
  /** sorted set: heartbeat member "<service>|<instance>" scored by ms timestamp. */
  readonly heartbeats: string;
  /** hash: "<service>|<instance>" → JSON heartbeat detail. */
  readonly heartbeatDetail: string;
  /** hash: component → JSON of the config version applied per instance. */
  configApplied(component: ConfigComponent): string;
  /** stream: reload outcomes (ok / rejected), kept for an hour at least. */
  readonly reloadOutcomes: string;
  /** hash: shared circuit-breaker state. */
  readonly breaker: string;
  /** string: test orders sent since the breaker went HALF_OPEN (taken with the probe lease, so the cap holds across replicas). */
  readonly breakerHalfOpenOrders: string;
  /** string (PX): the HALF_OPEN probe lease, the client order id of the one test order in flight. */
  readonly breakerProbe: string;
  /** stream: breaker transitions with their cause. */
  readonly breakerEvents: string;
  /** hash: kill switch state. */
  readonly killSwitch: string;
  /** stream: kill switch engage/reset audit log. */
  readonly killSwitchAudit: string;
  /** hash: trading state (ACTIVE / REDUCING / HALTED) and execution mode. */
  readonly tradingState: string;
  /** hash: router control (paused, by, at). */
  readonly routerControl: string;
  /** hash: operator Kelly override (emergency reduce). */
  readonly kellyOverride: string;
  /** hash: scoped kills and stops, field `symbol:<S>` or `model:<M>` → JSON ScopedControl. */
  readonly scopedControls: string;
  /** string: the number of write shards the deployment runs (decision 0012); set by the first service to start, checked by every later one. */
  readonly deploymentShards: string;
  /** pub/sub channel: control-plane changes (breaker, kill switch, trading state, overrides). */
  readonly controlEvents: string;
  /** pub/sub channel: requests such as "refresh volatility now". */
  readonly controlCommands: string;
  /** string counters of the API's rate limits (express-rate-limit's Redis store prefix, refusal counts). */
  rateLimit(suffix: string): string;
  /** string (JSON, PX): the volatility refresh requested and not yet finished (one at a time across replicas). */
  readonly volRefresh: string;
  /** string (PX): the risk-harmoniser instance doing that refresh. */
  readonly volRefreshWorker: string;
  /** hash: the last volatility refresh's outcome. */
  readonly volRefreshLast: string;
}

/**
 * `channelNamespace` prefixes the pub/sub channels (default: the same as the
 * keys). Channels belong to no hash slot, so on Cluster they keep the contract
 * names when TP_NAMESPACE is unset, while the keys get CLUSTER_NAMESPACE.
 */
export function redisKeys(namespace = '', channelNamespace = namespace, dataNamespace = namespace): RedisKeys {
  const n = (name: string): string => `${namespace}${name}`;
  const d = (name: string): string => `${dataNamespace}${name}`;
  const c = (name: string): string => `${channelNamespace}${name}`;
  return {
    namespace,
    dataNamespace,
    paramReload: c('param.reload'),
    edgeBlended: (symbol) => d(`risk.edge_blended.${symbol}`),
    modelSwitchLog: d('model.switch.log'),
    timeSeries: (metric, symbol) => d(`${metric}:${symbol}`),
    metricsHash: (metric, symbol) => d(`metrics:${metric}:${symbol}`),
    volatilityEstimates: d('volatility_estimates'),
    marketEvents: d('market_events'),
    orderIntents: d('order_intents'),
    execReports: d('exec_reports'),
    strategySignals: d('strategy_signals'),
    deadLetter: d('dead_letter'),
    lastTick: (symbol) => d(`tick:last:${symbol}`),
    marketDataSeen: d('tick:seen'),
    strategistState: (symbol) => d(`strategist:state:${symbol}`),
    riskState: (symbol) => d(`risk:state:${symbol}`),
    varContributions: d('risk:var_contrib'),
    riskPortfolio: d('risk:portfolio'),
    riskCorrelation: d('risk:correlation'),
    riskPrices: d('risk:prices'),
    dailyStats: (day) => d(`risk:daily:${day}`),
    venueErrors: (minute) => n(`exec:venue_errors:${minute}`),
    position: (symbol) => d(`exec:position:${symbol}`),
    order: (clientOrderId) => d(`exec:order:${clientOrderId}`),
    orderIndex: d('exec:orders'),
    ordersByState: (state) => d(`exec:orders:state:${state}`),
    ordersBySymbol: (symbol) => d(`exec:orders:symbol:${symbol}`),
    ordersByModel: (model) => d(`exec:orders:model:${model}`),
    orderFills: (clientOrderId) => d(`exec:order:${clientOrderId}:fills`),
    orderEvents: d('order_events'),
    working: (symbol) => d(`exec:working:${symbol}`),
    unsent: (symbol) => d(`exec:unsent:${symbol}`),
    orderSeq: (symbol) => d(`exec:orders_seq:${symbol}`),
    denied: (symbol) => d(`exec:denied:${symbol}`),
    lastTarget: (symbol) => d(`exec:last_target:${symbol}`),
    venueReports: (venue) => d(`venue_reports:${venue}`),
    queuePrefix: d('bull'),
    replayCancel: (id) => n(`replay:cancel:${id}`),
    reconciliation: (venue) => d(`exec:reconciliation:${venue}`),
    paperOrder: (venueOrderId) => d(`paper:order:${venueOrderId}`),
    paperOpen: (symbol) => d(`paper:open:${symbol}`),
    paperBalances: d('paper:balances'),
    heartbeats: n('svc:heartbeats'),
    heartbeatDetail: n('svc:heartbeat_detail'),
    configApplied: (component) => n(`config:applied:${component}`),
    reloadOutcomes: n('param.reload.outcomes'),
    breaker: n('control:circuit_breaker'),
    breakerEvents: n('control:circuit_breaker:events'),
    breakerHalfOpenOrders: n('control:circuit_breaker:half_open_orders'),
    breakerProbe: n('control:circuit_breaker:probe'),
    killSwitch: n('control:kill_switch'),
    killSwitchAudit: n('control:kill_switch:audit'),
    tradingState: n('control:trading'),
    routerControl: n('control:router'),
    kellyOverride: n('control:kelly_override'),
    scopedControls: n('control:scoped'),
    deploymentShards: n('control:shards'),
    controlEvents: c('control.events'),
    controlCommands: c('control.commands'),
    rateLimit: (suffix) => n(`ratelimit:${suffix}`),
    volRefresh: d('risk:vol_refresh'),
    volRefreshWorker: d('risk:vol_refresh:worker'),
    volRefreshLast: d('risk:vol_refresh:last'),
  };
}

/** Redis Cluster's number of hash slots. */
export const CLUSTER_SLOTS = 16_384;
/** The most shards TP_SHARDS may ask for. */
export const MAX_SHARDS = 64;

/**
 * Write shards (decision 0012): the data plane split by symbol into
 * `count` parts, each with its own streams, consumer groups, state and hash
 * tag, so one shard's batch commit stays in one slot while the shards spread
 * over a Cluster's masters. The control plane (trading state, kill switch,
 * breaker, config versions, heartbeats) stays under the namespace itself:
 * one slot every shard reads. With one shard (the default) every name is
 * today's: `keys[0]` is `redisKeys(namespace)`.
 */
export interface Shards {
  readonly count: number;
  /** Key names per shard; the control-plane names are the same in all of them. */
  readonly keys: readonly RedisKeys[];
  /** The shard a symbol's ticks, signals, targets and orders live in. */
  of(symbol: string): number;
  keysOf(symbol: string): RedisKeys;
}

/**
 * A symbol's shard: Redis Cluster's own hash of the name (CRC16, as for a
 * key's slot) modulo the count. Stable across processes, versions and restarts.
 */
export function shardOf(symbol: string, count: number): number {
  return count <= 1 ? 0 : calculateSlot(symbol) % count;
}

/**
 * The hash tag of shard `index` of `count`: `<tag>.s<index>`, or the first
 * `<tag>.s<index>.<j>` whose slot lies in the index-th of `count` equal
 * ranges of the slot space, which is the master `redis-cli --cluster create`
 * gives it on a cluster of `count` masters (and an even spread on others).
 */
export function shardTag(baseTag: string, index: number, count: number): string {
  // Clear of the range's edges by 1 %: redis-cli rounds where one master's slots end and the next one's begin.
  const margin = Math.max(1, Math.floor(CLUSTER_SLOTS / count / 100));
  const lo = Math.floor((index * CLUSTER_SLOTS) / count) + margin;
  const hi = Math.floor(((index + 1) * CLUSTER_SLOTS) / count) - margin;
  for (let j = 0; j < 100_000; j++) {
    const tag = j === 0 ? `${baseTag}.s${index}` : `${baseTag}.s${index}.${j}`;
    const slot = calculateSlot(tag);
    if (slot >= lo && slot < hi) return tag;
  }
  return `${baseTag}.s${index}`;
}

/** The data-plane namespace of each shard: the namespace itself for one shard; else the namespace with its hash tag (or `{tp}` appended) made the shard's own. */
export function shardNamespaces(namespace: string, count: number): string[] {
  if (count <= 1) return [namespace];
  const tag = namespaceHashTag(namespace);
  return Array.from({ length: count }, (_, i) => {
    const own = shardTag(tag ?? 'tp', i, count);
    return tag === undefined ? `${namespace}{${own}}` : namespace.replace(`{${tag}}`, `{${own}}`);
  });
}

export function shardedKeys(namespace: string, channelNamespace: string, count: number): Shards {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS) throw new Error(`TP_SHARDS must be a whole number from 1 to ${MAX_SHARDS}, not ${count}`);
  const keys = shardNamespaces(namespace, count).map((data) => redisKeys(namespace, channelNamespace, data));
  return { count, keys, of: (symbol) => shardOf(symbol, count), keysOf: (symbol) => keys[shardOf(symbol, count)]! };
}

/** One shard of the given names (a replay's own namespace, a one-shard deployment). */
export function oneShard(keys: RedisKeys): Shards {
  return { count: 1, keys: [keys], of: () => 0, keysOf: () => keys };
}
