// The built-in dashboard: one server-sent event stream (/api/stream) paints
// the page; the actions call the same API as curl, with the same auth, and
// show the API's answer (a refusal included). No framework, no build step.
import uPlot from '/vendor/uplot/uPlot.esm.js';

const $ = (id) => document.getElementById(id);

/** Build an element; children are nodes or text (never HTML). */
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else e.setAttribute(k, String(v));
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c ?? ''));
  return e;
}

const num = (v) => (typeof v === 'number' ? v : Number(v));
function fmt(v, digits = 2) {
  const n = num(v);
  if (v === null || v === undefined || v === '' || !Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
const hms = (ms) => (ms ? new Date(num(ms)).toISOString().slice(11, 19) : '–');
const signClass = (v) => (num(v) > 0 ? 'num pos' : num(v) < 0 ? 'num neg' : 'num');
function badge(id, text, level) {
  const b = $(id);
  b.textContent = text;
  b.className = `badge ${level ?? ''}`;
}
function fillBody(table, rows) {
  const body = $(table).tBodies[0];
  body.replaceChildren(...rows);
}

// ---- charts: the stream's pictures, last 10 minutes kept in the page ----
const KEEP = 1200;
const history = { t: [], edges: new Map(), var: [] };
let edgeChart;
let edgeSymbols = '';
let varChart;
let levels = { reload_block: 1.5, guard: 1.8, limit: 2 };
const PALETTE = ['#4ea1ff', '#f5a623', '#2fbf71', '#c678dd', '#e5484d', '#56b6c2', '#d19a66'];

function chartSize(div) {
  return { width: Math.max(260, div.clientWidth), height: 220 };
}
const axes = [
  { stroke: '#8a96a3', grid: { stroke: '#2a323c' } },
  { stroke: '#8a96a3', grid: { stroke: '#2a323c' } },
];

function drawEdgeChart() {
  const symbols = [...history.edges.keys()].sort();
  const data = [history.t, ...symbols.map((s) => history.edges.get(s))];
  if (!edgeChart || edgeSymbols !== symbols.join(',')) {
    edgeChart?.destroy();
    edgeSymbols = symbols.join(',');
    const div = $('chart-edge');
    edgeChart = new uPlot(
      { ...chartSize(div), axes, series: [{}, ...symbols.map((s, i) => ({ label: s, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true }))] },
      data,
      div,
    );
  } else edgeChart.setData(data);
}

function drawVarChart() {
  const n = history.t.length;
  const data = [history.t, history.var, new Array(n).fill(levels.reload_block), new Array(n).fill(levels.guard)];
  if (!varChart) {
    const div = $('chart-var');
    varChart = new uPlot(
      {
        ...chartSize(div),
        axes,
        series: [
          {},
          { label: 'portfolio VaR %', stroke: '#4ea1ff', width: 1.5 },
          { label: 'reload block', stroke: '#e0a100', dash: [4, 4], width: 1 },
          { label: 'VaR guard', stroke: '#e5484d', dash: [4, 4], width: 1 },
        ],
      },
      data,
      div,
    );
  } else varChart.setData(data);
}

new ResizeObserver(() => {
  if (edgeChart) edgeChart.setSize(chartSize($('chart-edge')));
  if (varChart) varChart.setSize(chartSize($('chart-var')));
}).observe($('chart-edge'));

function record(p) {
  const t = p.at / 1000;
  if (history.t.length > 0 && t <= history.t[history.t.length - 1]) return;
  history.t.push(t);
  const risk = p.status?.risk ?? {};
  for (const symbol of Object.keys(risk)) if (!history.edges.has(symbol)) history.edges.set(symbol, new Array(history.t.length - 1).fill(null));
  for (const [symbol, series] of history.edges) series.push(risk[symbol] ? num(risk[symbol].blended_edge_bps) : null);
  history.var.push(num(p.status?.portfolio?.var_pct ?? 0));
  if (history.t.length > KEEP) {
    history.t.shift();
    history.var.shift();
    for (const s of history.edges.values()) s.shift();
  }
  drawEdgeChart();
  drawVarChart();
}

// ---- painting ----
let blendSymbol = sessionStorage.getItem('blendSymbol') ?? '';

function paint(p) {
  const s = p.status;
  if (!s) {
    badge('b-trading', `Redis unreachable: ${p.health?.redis ?? ''}`, 'bad');
    return;
  }
  if (p.limits) levels = p.limits;
  const t = s.trading;
  badge('b-trading', `trading ${t.state}${t.reason ? `: ${t.reason}` : ''}`, t.state === 'ACTIVE' ? 'ok' : t.state === 'REDUCING' ? 'warn' : 'bad');
  badge('b-mode', `mode ${t.mode}${s.execution?.mode === 'LIVE' ? ' (LIVE venue)' : ''}`, t.mode === 'LIVE' ? 'warn' : '');
  const k = s.kill_switch;
  badge('b-kill', k.engaged ? `kill switch ENGAGED: ${k.reason}` : 'kill switch off', k.engaged ? 'bad' : 'ok');
  const b = s.circuit_breaker;
  badge('b-breaker', `breaker ${b.state}${b.cause ? `: ${b.cause}` : ''}`, b.state === 'CLOSED' ? 'ok' : b.state === 'OPEN' ? 'bad' : 'warn');
  badge('b-router', s.router.paused ? `router PAUSED${s.router.reason ? `: ${s.router.reason}` : ''}` : 'router running', s.router.paused ? 'warn' : 'ok');
  const v = num(s.portfolio?.var_pct ?? 0);
  badge('b-var', `VaR ${fmt(v, 3)}%`, v >= levels.guard ? 'bad' : v >= levels.reload_block ? 'warn' : 'ok');
  badge('b-kelly', `Kelly ${fmt(s.portfolio?.kelly_fraction, 2)}${s.kelly_override ? ' (override)' : ''}`, s.kelly_override ? 'warn' : '');

  const alerts = s.alerts ?? [];
  $('alerts').replaceChildren(...(alerts.length ? alerts.map((a) => el('li', { class: a.severity }, `${a.name}: ${a.detail}`)) : [el('li', { class: 'none' }, 'no alerts')]));

  // Symbols: routing, risk, position and PnL side by side.
  const positions = new Map((p.book?.positions ?? []).map((x) => [x.symbol, x]));
  const scoped = new Map((t.scoped ?? []).map((x) => [x.scope, x]));
  const symbols = [...new Set([...Object.keys(s.active_models ?? {}), ...Object.keys(s.risk ?? {}), ...positions.keys()])].sort();
  fillBody(
    'symbols',
    symbols.map((sym) => {
      const m = s.active_models?.[sym] ?? {};
      const r = s.risk?.[sym] ?? {};
      const blend = p.blends?.[sym] ?? {};
      const pos = positions.get(sym) ?? {};
      const ctl = scoped.get(`symbol:${sym}`);
      return el(
        'tr',
        { 'data-symbol': sym },
        el('td', {}, sym),
        el('td', { title: m.why ?? '' }, m.model ?? '–'),
        el('td', {}, m.since ? m.since.slice(11, 19) : '–'),
        el('td', { class: signClass(r.blended_edge_bps) }, fmt(r.blended_edge_bps)),
        el('td', {}, blend.action ?? '–'),
        el('td', { class: 'num' }, fmt(r.target_position_usd, 0)),
        el('td', { class: 'num' }, fmt(r.var_pct, 3)),
        el('td', { class: 'num', 'data-testid': `qty-${sym}` }, fmt(pos.qty, 4)),
        el('td', { class: 'num' }, fmt(pos.mark)),
        el('td', { class: signClass(pos.unrealized_pnl) }, fmt(pos.unrealized_pnl)),
        el('td', { class: signClass(pos.realized_pnl) }, fmt(pos.realized_pnl)),
        el('td', { class: 'num' }, fmt(pos.fees_usd)),
        el('td', {}, ctl ? `${ctl.state} (${ctl.kind})` : ''),
      );
    }),
  );
  const tot = p.book?.totals;
  if (tot)
    $('totals').textContent =
      `gross ${fmt(tot.gross_usd, 0)} USD · unrealized ${fmt(tot.unrealized_pnl)} · realized ${fmt(tot.realized_pnl)} · fees ${fmt(tot.fees_usd)} · orders ${
        Object.entries(s.execution?.orders ?? {})
          .filter(([, n]) => n > 0)
          .map(([st, n]) => `${st} ${n}`)
          .join(', ') || 'none'
      }`;

  // Latest blend of the chosen symbol, with its breakdown and reasons.
  const sel = $('blend-symbol');
  if ([...sel.options].map((o) => o.value).join() !== symbols.join()) {
    sel.replaceChildren(...symbols.map((sym) => el('option', { value: sym }, sym)));
    if (!symbols.includes(blendSymbol)) blendSymbol = symbols[0] ?? '';
    sel.value = blendSymbol;
  }
  const bl = p.blends?.[blendSymbol];
  if (!bl) $('blend').replaceChildren(el('p', { class: 'small' }, 'no blend yet (written by the risk-harmoniser, TTL 300 s)'));
  else
    $('blend').replaceChildren(
      el(
        'p',
        {},
        `${bl.symbol}: blended ${fmt(bl.blended_edge_bps)} bps (raw ${fmt(bl.raw_edge_bps)}) → ${bl.action ?? ''} target ${fmt(bl.target_position_usd, 0)} USD, cost ${fmt(bl.cost_bps)} bps, Kelly ${fmt(bl.kelly_fraction)} (${bl.kelly_source ?? ''}), at ${hms(bl.ts)}`,
      ),
      el(
        'div',
        { class: 'scroll' },
        el(
          'table',
          {},
          el('thead', {}, el('tr', {}, ...['model', 'edge bps', 'confidence', 'decay', 'weight', 'note'].map((h) => el('th', {}, h)))),
          el(
            'tbody',
            {},
            ...(bl.breakdown ?? []).map((row) =>
              el(
                'tr',
                {},
                el('td', {}, row.model),
                el('td', { class: signClass(row.edge_bps) }, fmt(row.edge_bps)),
                el('td', { class: 'num' }, fmt(row.confidence)),
                el('td', { class: 'num' }, fmt(row.decay_weight)),
                el('td', { class: 'num' }, fmt(row.weight)),
                el('td', {}, row.excluded ?? (row.penalised ? 'penalised' : '')),
              ),
            ),
          ),
        ),
      ),
      el('ul', { class: 'reasons' }, ...(bl.reasons ?? []).map((r) => el('li', {}, r))),
    );

  fillBody(
    'orders',
    (p.orders ?? []).map((o) =>
      el(
        'tr',
        {},
        el('td', {}, hms(o.created_at)),
        el('td', {}, o.client_order_id),
        el('td', {}, o.symbol),
        el('td', {}, o.side),
        el('td', { class: 'num' }, fmt(o.qty, 4)),
        el('td', {}, o.state),
        el('td', { class: 'num' }, fmt(o.filled_qty, 4)),
        el('td', { class: 'num' }, fmt(o.avg_fill_price)),
        el('td', { class: 'num' }, fmt(o.fees_usd)),
        el('td', {}, o.model),
        el('td', {}, o.reason ?? ''),
      ),
    ),
  );

  fillBody(
    'switches',
    (p.switches ?? []).map((w) =>
      el(
        'tr',
        {},
        el('td', {}, hms(Number(String(w.id).split('-')[0]))),
        el('td', {}, w.symbol ?? ''),
        el('td', {}, w.old_model ?? ''),
        el('td', {}, w.new_model ?? ''),
        el('td', {}, w.reason ?? ''),
      ),
    ),
  );

  const rows = [];
  for (const [service, instances] of Object.entries(s.services ?? {}))
    for (const i of instances) {
      const versions = Object.entries(i.config_version ?? {})
        .map(([c, ver]) => `${c} ${String(ver).slice(0, 8)}`)
        .join(', ');
      const notes = [
        i.venue ? `${i.venue} ${i.mode ?? ''}` : '',
        i.breaker ? `breaker ${i.breaker}` : '',
        i.router_paused ? 'router paused' : '',
        i.source ? `${i.source} ${i.rate ?? ''}/s` : '',
        i.timeseries ? `timeseries ${i.timeseries}` : '',
      ]
        .filter(Boolean)
        .join(' · ');
      rows.push(
        el(
          'tr',
          {},
          el('td', { title: service }, i.instance),
          el('td', { class: num(i.age_ms) > 5000 ? 'num neg' : 'num' }, `${fmt(num(i.age_ms) / 1000, 1)} s`),
          el('td', {}, versions),
          el('td', {}, notes),
        ),
      );
    }
  fillBody('services', rows);
  const rec = Object.entries(s.execution?.reconciliation ?? {})
    .map(([venue, r]) => `${venue}: ${r.ok === '1' ? 'reconciled' : `failing (${r.error})`} at ${hms(r.at)}`)
    .join(' · ');
  $('executions').textContent = rec ? `reconciliation ${rec}` : '';
}

// ---- the stream ----
let lastPictureAt = 0;
function connect() {
  const es = new EventSource('/api/stream');
  es.addEventListener('picture', (e) => {
    const p = JSON.parse(e.data);
    lastPictureAt = Date.now();
    $('live').dataset.at = String(p.at);
    paint(p);
    record(p);
  });
  es.onerror = () => {
    $('live').textContent = 'disconnected: retrying…';
    $('live').className = 'live stale';
  };
}
setInterval(() => {
  if (!lastPictureAt) return;
  const age = (Date.now() - lastPictureAt) / 1000;
  $('live').textContent = `live · ${age.toFixed(1)} s ago`;
  $('live').className = age > 6 ? 'live stale' : 'live';
}, 500);
connect();

$('blend-symbol').addEventListener('change', (e) => {
  blendSymbol = e.target.value;
  sessionStorage.setItem('blendSymbol', blendSymbol);
});

// ---- actions: same API, same auth, a confirmation first ----
for (const id of ['f-operator', 'f-token']) {
  const input = $(id);
  input.value = sessionStorage.getItem(id) ?? '';
  input.addEventListener('change', () => sessionStorage.setItem(id, input.value));
}

function fields() {
  const v = (id) => $(id).value.trim() || undefined;
  return { operator: v('f-operator'), reason: v('f-reason'), scope: v('f-scope'), token: v('f-token'), kelly: Number($('f-kelly').value), reducing: $('f-reducing').checked };
}

const ACTIONS = {
  stop: (f) => ({
    method: 'POST',
    path: '/api/stop-trading',
    body: { scope: f.scope, reason: f.reason, operator: f.operator, state: f.reducing ? 'REDUCING' : 'HALTED' },
    ask: `Stop trading on ${f.scope ?? 'system'} (${f.reducing ? 'REDUCING' : 'HALTED'})?`,
  }),
  start: (f) => ({ method: 'POST', path: '/api/start-trading', body: { scope: f.scope, reason: f.reason, operator: f.operator }, ask: `Start trading on ${f.scope ?? 'system'}?` }),
  kill: (f) => ({
    method: 'POST',
    path: '/admin/kill-switch',
    body: { scope: f.scope, reason: f.reason, operator: f.operator },
    ask: `ENGAGE the kill switch on ${f.scope ?? 'system'}? Resting orders are cancelled.`,
  }),
  'kill-reset': (f) => ({
    method: 'DELETE',
    path: '/admin/kill-switch',
    body: { scope: f.scope, reason: f.reason, operator: f.operator },
    ask: `Reset the kill switch on ${f.scope ?? 'system'}?`,
  }),
  'breaker-reset': (f) => ({ method: 'POST', path: '/api/circuit-breaker/reset', body: { reason: f.reason, operator: f.operator }, ask: 'Reset the circuit breaker to CLOSED?' }),
  'router-pause': (f) => ({ method: 'POST', path: '/api/router/pause', body: { reason: f.reason, operator: f.operator }, ask: 'Pause model switching everywhere?' }),
  'router-resume': (f) => ({ method: 'POST', path: '/api/router/resume', body: { reason: f.reason, operator: f.operator }, ask: 'Resume model switching?' }),
  'kelly-reduce': (f) => ({
    method: 'POST',
    path: '/api/risk/emergency-reduce',
    body: { kelly_fraction: f.kelly, reason: f.reason, operator: f.operator },
    ask: `Lower the Kelly fraction to ${f.kelly} everywhere?`,
  }),
  'replay-start': (f) => {
    const minutes = Number($('f-replay-minutes').value);
    const speed = Number($('f-replay-speed').value);
    return {
      method: 'POST',
      path: '/api/replay',
      body: { minutes, speed, reason: f.reason, operator: f.operator },
      ask: `Replay the last ${minutes} min of market data at ${speed}× in a namespace of its own?`,
    };
  },
  'replay-cancel': () => ({ method: 'DELETE', path: `/api/replay/${latestReplay?.id ?? 'none'}`, body: {}, ask: `Cancel replay ${latestReplay?.id ?? '(none)'}?` }),
  'kelly-clear': (f) => ({
    method: 'DELETE',
    path: '/api/risk/emergency-reduce',
    body: { reason: f.reason, operator: f.operator },
    ask: 'Clear the Kelly override (back to the configured fraction)?',
  }),
};

function confirmed(text) {
  const dialog = $('confirm');
  $('confirm-text').textContent = text;
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

async function act(name) {
  const f = fields();
  const a = ACTIONS[name](f);
  const out = $('action-result');
  if (!(await confirmed(a.ask))) {
    out.textContent = 'cancelled';
    out.className = '';
    return;
  }
  const headers = { 'content-type': 'application/json' };
  if (f.token) headers.authorization = `Bearer ${f.token}`;
  const body = JSON.stringify(Object.fromEntries(Object.entries(a.body).filter(([, v]) => v !== undefined)));
  try {
    const r = await fetch(a.path, { method: a.method, headers, body });
    const json = await r.json().catch(() => ({}));
    if (r.ok) {
      out.textContent = `${a.method} ${a.path}: ${r.status} ${JSON.stringify(json)}`;
      out.className = 'ok';
    } else {
      out.textContent = `refused (${r.status}): ${json.error ?? r.statusText}${json.detail ? ` — ${typeof json.detail === 'string' ? json.detail : JSON.stringify(json.detail)}` : ''}`;
      out.className = 'refused';
    }
  } catch (err) {
    out.textContent = `failed: ${err}`;
    out.className = 'refused';
  }
}

// ---- smoke replays: the latest one, polled while the page is open ----
let latestReplay;
async function pollReplays() {
  try {
    const r = await fetch('/api/replay');
    const { replays } = await r.json();
    latestReplay = replays[0];
    const v = latestReplay;
    if (!v) {
      $('replay').replaceChildren(el('p', { class: 'small' }, 'no replay yet'));
      return;
    }
    const res = v.result;
    const lines = [
      `${v.id}: ${v.state}${v.progress ? ` · ${v.progress.sent}/${v.progress.total} ticks` : ''}${v.failed_reason ? ` · ${v.failed_reason}` : ''} (by ${v.requested_by})`,
    ];
    if (res)
      lines.push(
        `orders ${res.orders.total} · net PnL ${fmt(res.pnl.netUsd)} USD (fees ${fmt(res.pnl.feesUsd)}) · max VaR ${fmt(res.var.maxPct, 3)}% · switches ${res.switches.total} · ${res.withinTolerance ? 'within tolerance' : 'OUT OF TOLERANCE'}`,
      );
    $('replay').replaceChildren(...lines.map((l) => el('p', {}, l)));
  } catch {
    // the stream's indicator already says when web is gone
  }
}
setInterval(() => void pollReplays(), 2000);
void pollReplays();

for (const button of document.querySelectorAll('#actions button[data-action], #replay-form button[data-action]'))
  button.addEventListener('click', () => void act(button.dataset.action));
