/**
 * Scoped trading controls: a kill or a stop for one symbol or one model
 * (a "strategy" in the seed's CLI is a router model here), next to the
 * system-wide trading state and kill switch.
 *
 *   scope text    system | symbol:<SYMBOL> | model:<name> | strategy:<name>
 *
 * A target is governed by the strictest control that matches its symbol or
 * the model that produced it: HALTED (only cancels) beats REDUCING (only
 * orders that reduce the position).
 */

export type Scope = { kind: 'system' } | { kind: 'symbol'; symbol: string } | { kind: 'model'; model: string };

export type ScopedState = 'HALTED' | 'REDUCING';

export interface ScopedControl {
  state: ScopedState;
  /** kill: set by the kill switch (reset through it, dual-operator rule applies); stop: by stop-trading. */
  kind: 'kill' | 'stop';
  reason: string;
  by: string;
  at: number;
  trigger: string;
}

export type ScopedControls = Readonly<Record<string, ScopedControl>>;

const SYMBOL = /^[A-Z0-9][A-Z0-9._-]{0,31}$/;
const MODEL = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export type ScopeParse = { ok: true; scope: Scope; key: string } | { ok: false; reason: string };

export function scopeKey(scope: Scope): string {
  return scope.kind === 'system' ? 'system' : scope.kind === 'symbol' ? `symbol:${scope.symbol}` : `model:${scope.model}`;
}

export function parseScope(text: string | undefined): ScopeParse {
  const t = (text ?? 'system').trim();
  if (t === 'system' || t === '') return { ok: true, scope: { kind: 'system' }, key: 'system' };
  const colon = t.indexOf(':');
  const kind = colon > 0 ? t.slice(0, colon) : '';
  const name = colon > 0 ? t.slice(colon + 1) : '';
  if (kind === 'symbol') {
    if (!SYMBOL.test(name)) return { ok: false, reason: `scope "${t}": symbol must be 1-32 chars of A-Z, 0-9, ".", "_" or "-"` };
    const scope: Scope = { kind: 'symbol', symbol: name };
    return { ok: true, scope, key: scopeKey(scope) };
  }
  if (kind === 'model' || kind === 'strategy') {
    if (!MODEL.test(name)) return { ok: false, reason: `scope "${t}": model name must be 1-64 chars of letters, digits, "_", "." or "-"` };
    const scope: Scope = { kind: 'model', model: name };
    return { ok: true, scope, key: scopeKey(scope) };
  }
  return { ok: false, reason: `scope "${t}" is not one of: system, symbol:<SYMBOL>, model:<name>, strategy:<name>` };
}

/** Decode the scoped-controls hash. An entry that cannot be read counts as HALTED (fail closed). */
export function parseScopedControls(hash: Readonly<Record<string, string>>): ScopedControls {
  const out: Record<string, ScopedControl> = {};
  for (const [key, raw] of Object.entries(hash)) {
    let v: Partial<ScopedControl> = {};
    try {
      v = JSON.parse(raw) as Partial<ScopedControl>;
    } catch {
      // unreadable: fail closed below
    }
    out[key] = {
      state: v.state === 'REDUCING' ? 'REDUCING' : 'HALTED',
      kind: v.kind === 'stop' ? 'stop' : 'kill',
      reason: typeof v.reason === 'string' ? v.reason : 'unreadable scoped control',
      by: typeof v.by === 'string' ? v.by : '',
      at: typeof v.at === 'number' ? v.at : 0,
      trigger: typeof v.trigger === 'string' ? v.trigger : '',
    };
  }
  return out;
}

/** The strictest control that applies to an order on `symbol` driven by `model`, or undefined. */
export function controlFor(scoped: ScopedControls, symbol: string, model: string): { scope: string; control: ScopedControl } | undefined {
  let best: { scope: string; control: ScopedControl } | undefined;
  for (const scope of [`symbol:${symbol}`, `model:${model}`]) {
    const c = scoped[scope];
    if (!c) continue;
    if (!best || (c.state === 'HALTED' && best.control.state !== 'HALTED')) best = { scope, control: c };
  }
  return best;
}
