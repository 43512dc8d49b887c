import { runService } from '../core/service.ts';
import { startStrategist } from './service.ts';

runService('strategist', (ctx) => startStrategist(ctx));
