/**
 * Does a scope name something this system trades or holds? A kill or stop
 * for a misspelt symbol or model would silently protect nothing, so it is
 * refused. Symbols: in the tradable universe, or with state in Redis (a
 * position, market data, a VaR contribution, strategist state), so a symbol
 * dropped from the universe, or one that reached Redis before it was
 * checked, can still be stopped. Models: declared in the router rules.
 */
import type { RedisClient } from './redis/connect.ts';
import { loadRouterRules } from './config/load.ts';
import type { InstrumentsConfig } from './config/schemas.ts';
import type { Scope } from './domain/scopes.ts';
import type { Shards } from './redis/keys.ts';

export interface SubjectSources {
  redis: RedisClient;
  shards: Shards;
  universe: InstrumentsConfig;
  root: string;
  routerRulesPath: string;
}

/** undefined when the scope's subject is known, else the reason it is not. */
export async function unknownScopeSubject(s: SubjectSources, scope: Scope): Promise<string | undefined> {
  if (scope.kind === 'symbol') {
    if (Object.hasOwn(s.universe.symbols, scope.symbol)) return undefined;
    const keys = s.shards.keysOf(scope.symbol);
    const [position, seen, varContribution, strategist] = await Promise.all([
      s.redis.exists(keys.position(scope.symbol)),
      s.redis.hexists(keys.marketDataSeen, scope.symbol),
      s.redis.hexists(keys.varContributions, scope.symbol),
      s.redis.exists(keys.strategistState(scope.symbol)),
    ]);
    if (position + seen + varContribution + strategist > 0) return undefined;
    return `unknown symbol ${scope.symbol}: not in the tradable universe (${Object.keys(s.universe.symbols).sort().join(', ')}) and no state in Redis`;
  }
  if (scope.kind === 'model') {
    const rules = await loadRouterRules(s.routerRulesPath, s.root);
    // If the rules cannot be read, do not stand in the way of a safety action.
    if (rules.ok && !Object.hasOwn(rules.config.config.models, scope.model)) {
      return `unknown model ${scope.model} (models in ${s.routerRulesPath}: ${Object.keys(rules.config.config.models).join(', ')})`;
    }
  }
  return undefined;
}
