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

export const DASHBOARDS = { 'edge-risk.json': edgeRiskDashboard, 'model-router.json': modelRouterDashboard } as const;

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
