/**
 * The reload target for conf/risk_params.yml, shared by every service that
 * reads it (risk-harmoniser, executor), so all apply or refuse alike:
 * restart-only fields are refused whole, and while portfolio VaR is above
 * reload_block_var_pct a reload needs "force": true (runbook safety check).
 */
import type { ServiceContext } from '../service.ts';
import { loadRiskParams } from './load.ts';
import { changedRestartOnlyFields } from './parse.ts';
import type { ConfigHolder, ReloadTarget } from './reloader.ts';
import type { RiskHarmoniserConfig } from './schemas.ts';

export function riskReloadTarget(
  ctx: ServiceContext,
  holder: ConfigHolder<RiskHarmoniserConfig>,
  afterApply?: (next: RiskHarmoniserConfig) => Promise<void> | void,
): ReloadTarget<unknown> {
  const target: ReloadTarget<RiskHarmoniserConfig> = {
    component: 'risk_harmoniser',
    holder,
    load: (p) => loadRiskParams(p, ctx.root),
    check: async (next, current, request) => {
      const restartOnly = changedRestartOnlyFields(current, next);
      if (restartOnly.length > 0) return `field(s) ${restartOnly.join(', ')} cannot change while running; restart to apply them (nothing was changed)`;
      const varPct = Number(await ctx.redis.hget(ctx.keys.riskPortfolio, 'var_pct'));
      const limit = current.risk_limits.reload_block_var_pct;
      if (Number.isFinite(varPct) && varPct > limit && request.force !== true) {
        return `portfolio VaR ${varPct.toFixed(3)}% is above ${limit}%: hot reload refused during high volatility (send "force": true to override)`;
      }
      return undefined;
    },
  };
  if (afterApply) target.afterApply = afterApply;
  return target;
}
