/**
 * Rule compilation and matching for the model router. Rules are compiled
 * once per config load; `matchRoute` is two comparisons and one regex per
 * rule tried, no allocation, no I/O.
 */
import type { ModelRouterConfig } from '../config/schemas.ts';
import { compileGlob, globCovers, globMatches, type Glob } from './glob.ts';
import { horizonCovers, horizonMatches, parseHorizon, type HorizonRange } from './horizon.ts';

export interface CompiledRule {
  /** Index of the rule in the file (0-based), used as the metric label. */
  readonly index: number;
  readonly assetClass: Glob;
  readonly horizon: HorizonRange;
  readonly model: string;
  readonly ensemble: readonly string[];
  /** The fallback model: the rule's default_model, else the file's. */
  readonly fallback: string;
  readonly priority: number;
  readonly description: string;
}

export interface CompiledRules {
  /** Sorted by priority ascending, then file order. */
  readonly rules: readonly CompiledRule[];
  readonly defaultModel: string;
  /** Decisions precomputed per rule (same order as `rules`), so matching allocates nothing. */
  readonly decisions: readonly RouteDecision[];
  readonly defaultDecision: RouteDecision;
}

export interface RouteDecision {
  readonly model: string;
  readonly ensemble: readonly string[];
  /** Where the router falls back when the active model is unhealthy. */
  readonly fallback: string;
  /** -1 when no rule matched and the default model applies. */
  readonly ruleIndex: number;
  readonly rule: CompiledRule | undefined;
}

export type CompileResult = { ok: true; compiled: CompiledRules } | { ok: false; errors: CompileError[] };
export interface CompileError {
  /** Path into the YAML document, e.g. ["model_router", "rules", 2, "match", "horizon_ms"]. */
  readonly path: (string | number)[];
  readonly message: string;
}

const NO_ENSEMBLE: readonly string[] = Object.freeze([]);

export function compileRules(config: ModelRouterConfig): CompileResult {
  const errors: CompileError[] = [];
  const base = ['model_router'];
  const known = new Set(Object.keys(config.models));
  if (!known.has(config.default_model)) {
    errors.push({ path: [...base, 'default_model'], message: `unknown model "${config.default_model}"; known: ${[...known].join(', ')}` });
  }
  const compiled: CompiledRule[] = [];
  config.rules.forEach((rule, index) => {
    const at = [...base, 'rules', index];
    if (!known.has(rule.model)) {
      errors.push({ path: [...at, 'model'], message: `unknown model "${rule.model}"; known: ${[...known].join(', ')}` });
    }
    rule.ensemble.forEach((m, j) => {
      if (!known.has(m)) errors.push({ path: [...at, 'ensemble', j], message: `unknown model "${m}"` });
    });
    if (rule.default_model !== undefined && !known.has(rule.default_model)) {
      errors.push({ path: [...at, 'default_model'], message: `unknown model "${rule.default_model}"; known: ${[...known].join(', ')}` });
    }
    const horizon = parseHorizon(rule.match.horizon_ms);
    if (!horizon.ok) {
      errors.push({ path: [...at, 'match', 'horizon_ms'], message: horizon.reason });
      return;
    }
    compiled.push({
      index,
      assetClass: compileGlob(rule.match.asset_class),
      horizon: horizon.range,
      model: rule.model,
      ensemble: rule.ensemble.filter((m) => m !== rule.model),
      fallback: rule.default_model ?? config.default_model,
      priority: rule.priority,
      description: rule.description,
    });
  });
  const sorted = [...compiled].sort((a, b) => a.priority - b.priority || a.index - b.index);
  // A rule is unreachable when an earlier (winning) rule covers all it matches.
  sorted.forEach((rule, i) => {
    const shadow = sorted.slice(0, i).find((w) => globCovers(w.assetClass, rule.assetClass) && horizonCovers(w.horizon, rule.horizon));
    if (shadow) {
      errors.push({
        path: [...base, 'rules', rule.index],
        message: `rule ${rule.index} can never match: rule ${shadow.index} (priority ${shadow.priority}) covers asset_class "${rule.assetClass.source}" and horizon_ms "${rule.horizon.source}"`,
      });
    }
  });
  if (errors.length > 0) return { ok: false, errors };
  const decisions = sorted.map((rule): RouteDecision => Object.freeze({ model: rule.model, ensemble: rule.ensemble, fallback: rule.fallback, ruleIndex: rule.index, rule }));
  const defaultDecision: RouteDecision = Object.freeze({ model: config.default_model, ensemble: NO_ENSEMBLE, fallback: config.default_model, ruleIndex: -1, rule: undefined });
  return { ok: true, compiled: { rules: sorted, defaultModel: config.default_model, decisions, defaultDecision } };
}

export function matchRoute(compiled: CompiledRules, assetClass: string, horizonMs: number): RouteDecision {
  const rules = compiled.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (horizonMatches(rule.horizon, horizonMs) && globMatches(rule.assetClass, assetClass)) {
      return compiled.decisions[i]!;
    }
  }
  return compiled.defaultDecision;
}

/** Human explanation of a route decision, for the preview command and /api/status. */
export function explainRoute(decision: RouteDecision, assetClass: string, horizonMs: number): string {
  if (!decision.rule) return `no rule matches asset_class "${assetClass}" horizon ${horizonMs} ms: default_model ${decision.model}`;
  const r = decision.rule;
  return `rule ${r.index} (priority ${r.priority}${r.description ? `, "${r.description}"` : ''}) matches asset_class "${assetClass}" via "${r.assetClass.source}" and horizon ${horizonMs} ms via "${r.horizon.source}"`;
}
