import { runService } from '../core/service.ts';
import { startFeed } from './service.ts';

runService('feed', (ctx) => startFeed(ctx));
