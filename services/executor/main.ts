import { runService } from '../core/service.ts';
import { startExecutor } from './service.ts';

runService('executor', (ctx) => startExecutor(ctx));
