/**
 * npm start runs this before it starts anything: the settings every service
 * will read, the three config files, and the API's exposure rule (a
 * non-loopback WEB_HOST needs a token). A problem is printed with its reason
 * and exits 78 (EX_CONFIG), so nothing starts and nothing trades.
 * Also usable alone: `node --import tsx scripts/preflight.ts`.
 */
import { loadInstruments, loadRiskParams, loadRouterRules } from '../services/core/config/load.ts';
import { EXIT_CONFIG } from '../services/core/errors.ts';
import { settingsFromEnvironment } from '../services/core/settings.ts';
import { decideExposure } from '../services/web/auth.ts';

const problems: string[] = [];
const parsed = settingsFromEnvironment();
if (!parsed.ok) {
  problems.push(...parsed.errors);
} else {
  const s = parsed.settings;
  const [risk, rules, instruments, exposure] = await Promise.all([
    loadRiskParams(s.configPaths.risk_harmoniser, s.root),
    loadRouterRules(s.configPaths.model_router, s.root),
    loadInstruments(s.configPaths.instruments, s.root),
    decideExposure(s),
  ]);
  for (const r of [risk, rules, instruments]) if (!r.ok) problems.push(...r.errors);
  if (!exposure.ok) problems.push(exposure.reason);
}
if (problems.length > 0) {
  for (const p of problems) console.error(`  ${p}`);
  process.exit(EXIT_CONFIG);
}
