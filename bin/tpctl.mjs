#!/usr/bin/env node
// tpctl: the operator CLI (services/cli/ctl.ts), run through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../services/cli/ctl.ts');
process.exitCode = await main(process.argv.slice(2));
