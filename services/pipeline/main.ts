/**
 * The single-process layout: the pipeline services in one Node process, each
 * still itself (its own consumer group, commits, heartbeat, /metrics and
 * settings; `<SERVICE>__<NAME>` overrides `<NAME>` for one of them), so Redis
 * sees exactly what it sees from separate processes. On a small machine this
 * saves the processes fighting each other and Redis for two cores.
 *
 *   node --import tsx services/pipeline/main.ts model_router
 *
 * PIPELINE_SERVICES picks which (default: executor, risk-harmoniser,
 * strategist, feed: each downstream stage starts before its source, and they
 * stop the other way round, the feed first, as npm start stops them). "model_router" on the command line
 * lets the runbook's `pkill -SIGHUP -f model_router` find the strategist.
 */
import type { RunningService, ServiceContext } from '../core/context.ts';
import type { ServiceName } from '../core/redis/keys.ts';
import { EXIT_CONFIG } from '../core/errors.ts';
import { runServices } from '../core/service.ts';
import { startExecutor } from '../executor/service.ts';
import { startFeed } from '../feed/service.ts';
import { startRiskHarmoniser } from '../risk-harmoniser/service.ts';
import { startStrategist } from '../strategist/service.ts';

const STARTS: Partial<Record<ServiceName, (ctx: ServiceContext) => Promise<RunningService>>> = {
  'risk-harmoniser': startRiskHarmoniser,
  executor: startExecutor,
  strategist: startStrategist,
  feed: (ctx) => startFeed(ctx),
};

const wanted = (process.env['PIPELINE_SERVICES'] ?? 'executor,risk-harmoniser,strategist,feed').split(',').map((s) => s.trim());
const unknown = wanted.filter((s) => !(s in STARTS));
if (unknown.length > 0 || wanted.length === 0) {
  process.stderr.write(`PIPELINE_SERVICES: expected some of ${Object.keys(STARTS).join(', ')}, found ${unknown.join(', ') || 'nothing'}\n`);
  process.exit(EXIT_CONFIG);
}
runServices(wanted.map((s) => ({ service: s as ServiceName, start: STARTS[s as ServiceName]! })));
