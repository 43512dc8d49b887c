/**
 * The tradable universe (conf/instruments.yml) as every service holds it:
 * loaded at start (a bad file stops the service as a configuration error),
 * swapped on `PUBLISH param.reload {"component": "instruments", ...}`.
 */
import { ConfigurationError } from '../errors.ts';
import type { Universe } from '../domain/market-data.ts';
import type { ServiceContext } from '../service.ts';
import { loadInstruments } from './load.ts';
import { ConfigHolder, type ReloadTarget } from './reloader.ts';
import type { InstrumentsConfig, InstrumentSpecConfig } from './schemas.ts';

export async function loadInstrumentsAtStart(ctx: ServiceContext): Promise<ConfigHolder<InstrumentsConfig>> {
  const path = ctx.settings.configPaths.instruments;
  const loaded = await loadInstruments(path, ctx.root);
  if (!loaded.ok) throw new ConfigurationError(`cannot start: ${loaded.reason}`);
  return new ConfigHolder(loaded.config, loaded.version, path, ctx.clock.now());
}

export function instrumentsReloadTarget(ctx: ServiceContext, holder: ConfigHolder<InstrumentsConfig>, afterApply?: (next: InstrumentsConfig) => void): ReloadTarget<unknown> {
  const target: ReloadTarget<InstrumentsConfig> = { component: 'instruments', holder, load: (p) => loadInstruments(p, ctx.root) };
  if (afterApply) target.afterApply = afterApply;
  return target;
}

/** The universe as a membership test over the holder's current config (follows reloads). */
export function universeOf(holder: ConfigHolder<InstrumentsConfig>): Universe {
  return { has: (symbol) => Object.hasOwn(holder.current.symbols, symbol) };
}

export function instrumentSpec(cfg: InstrumentsConfig, symbol: string): InstrumentSpecConfig | undefined {
  return Object.hasOwn(cfg.symbols, symbol) ? cfg.symbols[symbol] : undefined;
}
