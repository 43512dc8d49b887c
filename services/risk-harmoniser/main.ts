import { runService } from '../core/service.ts';
import { startRiskHarmoniser } from './service.ts';

runService('risk-harmoniser', (ctx) => startRiskHarmoniser(ctx));
