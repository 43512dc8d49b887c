import { runService } from '../core/service.ts';
import { startWeb } from './service.ts';

runService('web', (ctx) => startWeb(ctx));
