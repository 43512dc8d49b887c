/**
 * The Grafana dashboards as typed data. `npm run dashboards` writes
 * grafana/dashboards/*.json; a test checks the files are current, every
 * PromQL query is valid (promtool) and names a metric the services export.
 */
export interface Target {
  refId: string;
  expr?: string;
  legendFormat?: string;
  datasource: { type: 'prometheus' | 'redis-datasource'; uid: string };
  command?: string;
  keyName?: string;
  count?: number;
  query?: string;
  type?: string;
}

export interface Panel {
  id: number;
  type: 'row' | 'stat' | 'timeseries' | 'table' | 'bargauge';
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  collapsed?: boolean;
  panels?: Panel[];
  targets?: Target[];
  datasource?: Target['datasource'];
  fieldConfig?: { defaults: Record<string, unknown>; overrides: unknown[] };
  options?: Record<string, unknown>;
}

export interface Dashboard {
  uid: string;
  title: string;
  tags: string[];
  timezone: 'utc';
  schemaVersion: number;
  version: number;
  refresh: string;
  time: { from: string; to: string };
  templating: { list: unknown[] };
  annotations: { list: unknown[] };
  panels: Panel[];
}

const PROM = { type: 'prometheus', uid: 'prometheus' } as const;
const REDIS = { type: 'redis-datasource', uid: 'redis' } as const;

let nextId = 1;
const prom = (expr: string, legendFormat = '', refId = 'A'): Target => ({ refId, expr, legendFormat, datasource: PROM });
const row = (title: string, y: number): Panel => ({ id: nextId++, type: 'row', title, collapsed: false, panels: [], gridPos: { x: 0, y, w: 24, h: 1 } });
const panel = (
  type: Panel['type'],
  title: string,
  gridPos: Panel['gridPos'],
  targets: Target[],
  unit = 'short',
  thresholds?: { color: string; value: number | null }[],
): Panel => ({
  id: nextId++,
  type,
  title,
  gridPos,
  datasource: targets[0]!.datasource,
  targets,
  fieldConfig: {
    defaults: { unit, ...(thresholds ? { thresholds: { mode: 'absolute', steps: thresholds } } : {}) },
    overrides: [],
  },
  options: type === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', textMode: 'value_and_name' } : {},
});

const base = (uid: string, title: string, tags: string[], panels: Panel[]): Dashboard => ({
  uid,
  title,
  tags,
  timezone: 'utc',
  schemaVersion: 39,
  version: 1,
  refresh: '5s',
  time: { from: 'now-15m', to: 'now' },
  templating: { list: [] },
  annotations: { list: [] },
  panels,
});

export function edgeRiskDashboard(): Dashboard {
  nextId = 1;
  const green = { color: 'green', value: null };
  return base(
    'edge-risk',
    'Edge Risk',
    ['trading', 'risk'],
    [
      row('Quick stats', 0),
      panel('stat', 'Active model', { x: 0, y: 1, w: 6, h: 4 }, [prom('model_router_active_model == 1', '{{symbol}}: {{model}}')]),
      panel('stat', 'Blended edge (bps)', { x: 6, y: 1, w: 6, h: 4 }, [prom('edge_blended_bps', '{{symbol}}')], 'short'),
      panel('stat', 'Position size (USD)', { x: 12, y: 1, w: 6, h: 4 }, [prom('position_size_usd', '{{symbol}}')], 'currencyUSD'),
      panel('stat', 'VaR (%)', { x: 18, y: 1, w: 6, h: 4 }, [prom('var_pct', '{{symbol}}')], 'percent', [green, { color: 'orange', value: 1.8 }, { color: 'red', value: 2 }]),
      row('Time series per symbol', 5),
      panel('timeseries', 'Blended edge (bps)', { x: 0, y: 6, w: 8, h: 8 }, [prom('edge_blended_bps', '{{symbol}}')]),
      panel('timeseries', 'Position (USD)', { x: 8, y: 6, w: 8, h: 8 }, [prom('position_size_usd', '{{symbol}}')], 'currencyUSD'),
      panel('timeseries', 'VaR (%)', { x: 16, y: 6, w: 8, h: 8 }, [prom('var_pct', '{{symbol}}'), prom('portfolio_var_pct', 'portfolio', 'B')], 'percent', [
        green,
        { color: 'orange', value: 1.8 },
        { color: 'red', value: 2 },
      ]),
      row('Model switch log', 14),
      panel('table', 'model.switch.log (latest 20)', { x: 0, y: 15, w: 16, h: 8 }, [
        { refId: 'A', datasource: REDIS, type: 'command', query: '', command: 'xrevrange', keyName: 'model.switch.log', count: 20 },
      ]),
      panel('timeseries', 'Switches per 5 minutes', { x: 16, y: 15, w: 8, h: 8 }, [prom('sum by (symbol) (increase(model_switch_total[5m]))', '{{symbol}}')]),
      row('Alert summary', 23),
      panel('stat', 'VaR breach (max VaR %)', { x: 0, y: 24, w: 6, h: 4 }, [prom('max(var_pct)', 'max VaR')], 'percent', [green, { color: 'red', value: 1.8 }]),
      panel('stat', 'Excessive switching (per 5 min)', { x: 6, y: 24, w: 6, h: 4 }, [prom('sum(rate(model_switch_total[5m])) * 300', 'switches')], 'short', [
        green,
        { color: 'red', value: 20 },
      ]),
      panel('stat', 'Circuit breaker (0 CLOSED, 1 HALF_OPEN, 2 OPEN)', { x: 12, y: 24, w: 6, h: 4 }, [prom('max(circuit_breaker_state)', 'state')], 'short', [
        green,
        { color: 'orange', value: 1 },
        { color: 'red', value: 2 },
      ]),
      panel('stat', 'Kill switch', { x: 18, y: 24, w: 6, h: 4 }, [prom('max(kill_switch_engaged)', 'engaged')], 'short', [green, { color: 'red', value: 1 }]),
    ],
  );
}

export function modelRouterDashboard(): Dashboard {
  nextId = 1;
  return base(
    'model-router',
    'Model Router',
    ['trading', 'router'],
    [
      panel('bargauge', 'Active model distribution', { x: 0, y: 0, w: 8, h: 8 }, [prom('count by (model) (model_router_active_model == 1)', '{{model}}')]),
      panel(
        'timeseries',
        'Routing latency p99 (µs)',
        { x: 8, y: 0, w: 8, h: 8 },
        [prom('histogram_quantile(0.99, sum by (le) (rate(model_router_latency_microseconds_bucket[5m])))', 'p99')],
        'µs',
      ),
      panel('timeseries', 'Switch rate (per minute)', { x: 16, y: 0, w: 8, h: 8 }, [prom('sum by (symbol) (rate(model_switch_total[5m])) * 60', '{{symbol}}')]),
      panel('timeseries', 'Reload events', { x: 0, y: 8, w: 8, h: 8 }, [prom('sum by (component) (increase(model_router_reload_duration_ms_count[5m]))', '{{component}}')]),
      panel('timeseries', 'Rule matches (per second)', { x: 8, y: 8, w: 8, h: 8 }, [
        prom('sum by (rule_index, model) (rate(model_router_rule_matches_total[1m]))', 'rule {{rule_index}} → {{model}}'),
      ]),
      panel('timeseries', 'Fallbacks', { x: 16, y: 8, w: 8, h: 8 }, [prom('sum by (symbol, why) (increase(model_router_fallbacks_total[5m]))', '{{symbol}}: {{why}}')]),
    ],
  );
}

/** The order lifecycle: how fast orders are accepted and filled, what they cost, why they are refused, the send queue, reconciliation. */
export function executionDashboard(): Dashboard {
  nextId = 1;
  const quantiles = (metric: string): Target[] =>
    (['0.5', '0.95', '0.99'] as const).map((q, i) =>
      prom(`histogram_quantile(${q}, sum by (le) (rate(${metric}_bucket[5m])))`, `p${Number(q) * 100}`, String.fromCharCode(65 + i)),
    );
  return base(
    'execution',
    'Execution',
    ['trading', 'execution'],
    [
      row('Orders', 0),
      panel('timeseries', 'Intent → accepted (s)', { x: 0, y: 1, w: 8, h: 8 }, quantiles('order_intent_to_accepted_seconds'), 's'),
      panel('timeseries', 'Accepted → filled (s)', { x: 8, y: 1, w: 8, h: 8 }, quantiles('order_accepted_to_filled_seconds'), 's'),
      panel('timeseries', 'Orders by outcome (per minute)', { x: 16, y: 1, w: 8, h: 8 }, [prom('sum by (status) (rate(orders_total[5m])) * 60', '{{status}}')]),
      panel('timeseries', 'Fees paid (USD per 5 minutes)', { x: 0, y: 9, w: 8, h: 8 }, [prom('sum by (symbol) (increase(order_fees_usd_total[5m]))', '{{symbol}}')], 'currencyUSD'),
      panel('timeseries', 'Rejections by reason (per 5 minutes)', { x: 8, y: 9, w: 8, h: 8 }, [prom('sum by (reason) (increase(order_rejections_total[5m]))', '{{reason}}')]),
      panel('timeseries', 'Venue reports ignored (per 5 minutes)', { x: 16, y: 9, w: 8, h: 8 }, [prom('sum by (why) (increase(order_reports_ignored_total[5m]))', '{{why}}')]),
      row('Send queue and venue', 17),
      panel('timeseries', 'Send queue depth', { x: 0, y: 18, w: 8, h: 8 }, [prom('max by (state) (order_queue_depth)', '{{state}}')]),
      panel(
        'timeseries',
        'Queue wait and venue round trip p95 (s)',
        { x: 8, y: 18, w: 8, h: 8 },
        [
          prom('histogram_quantile(0.95, sum by (le) (rate(order_queue_wait_seconds_bucket[5m])))', 'queue wait'),
          prom('histogram_quantile(0.95, sum by (le) (rate(order_latency_seconds_bucket[5m])))', 'venue round trip', 'B'),
        ],
        's',
      ),
      panel('timeseries', 'Send retries and superseded orders (per 5 minutes)', { x: 16, y: 18, w: 8, h: 8 }, [
        prom('sum(increase(order_send_retries_total[5m]))', 'retries'),
        prom('sum(increase(orders_superseded_total[5m]))', 'superseded', 'B'),
      ]),
      row('Reconciliation', 26),
      panel('timeseries', 'Position drift vs the venue (% of notional)', { x: 0, y: 27, w: 8, h: 8 }, [prom('max by (symbol) (position_drift_pct)', '{{symbol}}')], 'percent', [
        { color: 'green', value: null },
        { color: 'red', value: 0.5 },
      ]),
      panel('timeseries', 'Reconciliations (per 5 minutes)', { x: 8, y: 27, w: 8, h: 8 }, [prom('sum by (outcome) (increase(reconciliations_total[5m]))', '{{outcome}}')]),
      panel('timeseries', 'Adopted, unknown at the venue, stuck (per hour)', { x: 16, y: 27, w: 8, h: 8 }, [
        prom('sum(increase(orders_adopted_total[1h]))', 'adopted'),
        prom('sum(increase(orders_unknown_at_venue_total[1h]))', 'unknown at the venue', 'B'),
        prom('sum(increase(orders_stuck_total[1h]))', 'stuck', 'C'),
      ]),
    ],
  );
}

export const DASHBOARDS = { 'edge-risk.json': edgeRiskDashboard, 'model-router.json': modelRouterDashboard, 'execution.json': executionDashboard } as const;

/** Every PromQL expression of a dashboard. */
export function promExpressions(d: Dashboard): string[] {
  const out: string[] = [];
  const walk = (ps: Panel[]): void => {
    for (const p of ps) {
      for (const t of p.targets ?? []) if (t.expr) out.push(t.expr);
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  return out;
}
