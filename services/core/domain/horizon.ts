/**
 * The horizon language of model_router_rules.yml: `*`, or comparisons
 * (`<`, `<=`, `>`, `>=`, `=`) of a number of milliseconds, joined by `&`.
 * Compiles to a closed-open interval [min, max) on integers-as-reals, with
 * inclusive/exclusive ends kept exact so matching is two comparisons.
 */

export interface HorizonRange {
  readonly min: number; // lower bound
  readonly minInclusive: boolean;
  readonly max: number; // upper bound
  readonly maxInclusive: boolean;
  readonly source: string;
}

export type HorizonParse = { ok: true; range: HorizonRange } | { ok: false; reason: string };

const TERM = /^(<=|>=|<|>|=)?\s*(\d+(?:\.\d+)?)$/;

export function parseHorizon(expression: string): HorizonParse {
  const source = expression.trim();
  let min = 0;
  let minInclusive = true;
  let max = Number.POSITIVE_INFINITY;
  let maxInclusive = false;
  if (source === '*') return { ok: true, range: { min, minInclusive, max, maxInclusive, source } };
  if (source === '') return { ok: false, reason: 'empty horizon expression' };
  for (const raw of source.split('&')) {
    const term = raw.trim();
    const m = TERM.exec(term);
    if (!m) {
      return { ok: false, reason: `bad horizon term "${term}" in "${source}": expected <, <=, >, >= or = followed by milliseconds` };
    }
    const op = m[1] ?? '=';
    const value = Number(m[2]);
    switch (op) {
      case '<':
        if (value < max || (value === max && maxInclusive)) {
          max = value;
          maxInclusive = false;
        }
        break;
      case '<=':
        if (value < max) {
          max = value;
          maxInclusive = true;
        }
        break;
      case '>':
        if (value > min || (value === min && minInclusive)) {
          min = value;
          minInclusive = false;
        }
        break;
      case '>=':
        if (value > min) {
          min = value;
          minInclusive = true;
        }
        break;
      default:
        if (value > min || (value === min && minInclusive)) {
          min = value;
          minInclusive = true;
        }
        if (value < max || (value === max && maxInclusive)) {
          max = value;
          maxInclusive = true;
        }
    }
  }
  const range = { min, minInclusive, max, maxInclusive, source };
  if (isEmptyRange(range)) return { ok: false, reason: `horizon "${source}" matches no value` };
  return { ok: true, range };
}

export function isEmptyRange(r: HorizonRange): boolean {
  if (r.min < r.max) return false;
  if (r.min === r.max) return !(r.minInclusive && r.maxInclusive);
  return true;
}

export function horizonMatches(r: HorizonRange, horizonMs: number): boolean {
  if (horizonMs < r.min || (horizonMs === r.min && !r.minInclusive)) return false;
  if (horizonMs > r.max || (horizonMs === r.max && !r.maxInclusive)) return false;
  return true;
}

/** Does range `outer` contain every value of `inner`? */
export function horizonCovers(outer: HorizonRange, inner: HorizonRange): boolean {
  const lowOk = outer.min < inner.min || (outer.min === inner.min && (outer.minInclusive || !inner.minInclusive));
  const highOk = outer.max > inner.max || (outer.max === inner.max && (outer.maxInclusive || !inner.maxInclusive));
  return lowOk && highOk;
}
