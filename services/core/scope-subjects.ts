/**
 * Does a scope name something this system trades? A kill or stop for a
 * misspelt symbol or model would silently protect nothing, so it is refused.
 * Symbols: seen in market data or described by `instrument:info:<symbol>`.
 * Models: declared in the model router rules the strategists load.
 */
import type { RedisClient } from './redis/connect.ts';
import { loadRouterRules } from './config/load.ts';
import { DEFAULT_CONFIG_PATHS } from './config/schemas.ts';
import type { Scope } from './domain/scopes.ts';
import type { RedisKeys } from './redis/keys.ts';

/** undefined when the scope's subject is known, else the reason it is not. */
export async function unknownScopeSubject(redis: RedisClient, keys: RedisKeys, scope: Scope, root: string): Promise<string | undefined> {
  if (scope.kind === 'symbol') {
    const [seen, info] = await Promise.all([redis.hexists(keys.marketDataSeen, scope.symbol), redis.exists(keys.instrumentInfo(scope.symbol))]);
    if (seen === 0 && info === 0) {
      const known = Object.keys(await redis.hgetall(keys.marketDataSeen)).sort();
      return `unknown symbol ${scope.symbol} (symbols with market data: ${known.join(', ') || 'none'})`;
    }
  } else if (scope.kind === 'model') {
    const rules = await loadRouterRules(DEFAULT_CONFIG_PATHS.model_router, root);
    // If the rules cannot be read, do not stand in the way of a safety action.
    if (rules.ok && !Object.hasOwn(rules.config.config.models, scope.model)) {
      return `unknown model ${scope.model} (models in ${DEFAULT_CONFIG_PATHS.model_router}: ${Object.keys(rules.config.config.models).join(', ')})`;
    }
  }
  return undefined;
}
