// Compile the services to plain JavaScript in .build/ (tsc -p tsconfig.build.json), with the files they
// read next to their code (the Lua scripts, the dashboard's public/). npm start, the image and the bench run
// the services from there: no TypeScript loader in the process (measured: 28-41 MB less RSS per service and
// about 0.6 s less to start; docs/benchmarks.md). Skipped when .build/ is newer than every source file, so
// running it again is instant.
//
//   node scripts/build.mjs          build if stale; prints what it did
//   import { buildServices } ...    the same, from scripts/start.mjs
//
// Plain JavaScript on purpose: it runs before anything else (as start.mjs does).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUILD_DIR = join(ROOT, '.build');
const STAMP = join(BUILD_DIR, '.stamp');
/** Files the compiled services read at run time, relative to their own code. */
const ASSETS = ['services/core/redis/lua', 'services/web/public'];

/** The newest modification time under `dir` (files only). */
function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Whether .build/ is older than the sources, the build config or the installed dependencies. */
export function buildStale() {
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  const inputs = [newest(join(ROOT, 'services')), ...['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((f) => statSync(join(ROOT, f)).mtimeMs)];
  return inputs.some((t) => t > built);
}

/** Build when stale; returns 'fresh' or 'built', throws with tsc's output when it fails. */
export function buildServices(say = () => undefined) {
  if (!buildStale()) return 'fresh';
  say('compiling the services to .build/ (tsc)...');
  rmSync(BUILD_DIR, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  for (const a of ASSETS) {
    mkdirSync(dirname(join(BUILD_DIR, a)), { recursive: true });
    cpSync(join(ROOT, a), join(BUILD_DIR, a), { recursive: true });
  }
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  return 'built';
}

/** The compiled entry point of a service (`services/<name>/main.ts` → `.build/services/<name>/main.js`). */
export function builtEntry(source) {
  return join(BUILD_DIR, source.replace(/\.ts$/, '.js'));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const r = buildServices((m) => console.log(`[build] ${m}`));
    console.log(`[build] ${r === 'fresh' ? '.build/ is up to date' : 'done'}`);
  } catch (err) {
    console.error(`[build] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
