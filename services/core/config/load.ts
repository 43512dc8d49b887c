/**
 * Reading config files from disk. `config_path` values from reload payloads
 * are resolved against the project root and may not leave the config
 * folders (the root's YAML files and conf/), judged on the real path (a
 * symlink in conf/ that points elsewhere is refused). A file larger than
 * MAX_CONFIG_BYTES is refused before it is read.
 *
 * The file system calls are synchronous: a config file is a few KiB on a
 * local disk, read at start and on a reload, and the six calls (two
 * realpaths, open, stat, read, close) take tens of microseconds in place,
 * where each asynchronous one waited its turn on the libuv thread pool and
 * then on the event loop (docs/benchmarks.md, "Reload").
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { parseInstruments, parseRiskParams, parseRouterRules, type ParseResult, type RouterConfigBundle } from './parse.ts';
import type { InstrumentsConfig, RiskHarmoniserConfig } from './schemas.ts';

/** 1 MiB: the shipped files are 2-5 KiB; anything near this is a mistake or an attack. */
export const MAX_CONFIG_BYTES = 1_048_576;

export type PathCheck = { ok: true; absolute: string } | { ok: false; reason: string };

/** Longest `config_path` echoed back in a reason. */
const SHOWN = 120;
export function shown(text: string): string {
  return text.length > SHOWN ? `${text.slice(0, SHOWN)}…(${text.length} chars)` : text;
}

/** Allowed: `conf/**.yml|yaml` and `*.yml|yaml` directly in the project root (lexically; see realConfigPath). */
export function resolveConfigPath(configPath: string, root: string): PathCheck {
  if (configPath.includes('\0')) return { ok: false, reason: 'config_path contains a NUL byte' };
  const absolute = isAbsolute(configPath) ? resolve(configPath) : resolve(root, configPath);
  return checkUnderRoot(absolute, root, configPath);
}

function checkUnderRoot(absolute: string, root: string, configPath: string): PathCheck {
  const rel = relative(root, absolute);
  if (rel.startsWith('..') || isAbsolute(rel)) return { ok: false, reason: `config_path "${shown(configPath)}" is outside the project's config folders` };
  if (!/\.ya?ml$/.test(rel)) return { ok: false, reason: `config_path "${shown(configPath)}" is not a .yml/.yaml file` };
  const parts = rel.split(sep);
  if (parts.length === 1 || parts[0] === 'conf') return { ok: true, absolute };
  return { ok: false, reason: `config_path "${shown(configPath)}" is outside the project's config folders (root *.yml or conf/)` };
}

/** The policy applied to the real path, symlinks resolved (file and root). */
export async function realConfigPath(configPath: string, root: string): Promise<PathCheck> {
  const lexical = resolveConfigPath(configPath, root);
  if (!lexical.ok) return lexical;
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = [realpathSync(lexical.absolute), realpathSync(root)];
  } catch (err) {
    return { ok: false, reason: `${shown(configPath)}: cannot read file (${(err as NodeJS.ErrnoException).code ?? 'EIO'})` };
  }
  const checked = checkUnderRoot(real, realRoot, configPath);
  if (!checked.ok && real !== lexical.absolute) return { ok: false, reason: `config_path "${shown(configPath)}" is a link to a file outside the project's config folders` };
  return checked;
}

export async function readConfigText(configPath: string, root: string): Promise<{ ok: true; text: string } | { ok: false; reason: string }> {
  const checked = await realConfigPath(configPath, root);
  if (!checked.ok) return checked;
  try {
    const fd = openSync(checked.absolute, 'r');
    try {
      const { size } = fstatSync(fd);
      if (size > MAX_CONFIG_BYTES)
        return { ok: false, reason: `${shown(configPath)}: file is ${size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit for config files (nothing was read)` };
      // Sized by stat, plus one byte to notice a file that grew since; only then read again, up to the limit.
      let buf = Buffer.allocUnsafe(size + 1);
      let bytesRead = readFully(fd, buf);
      if (bytesRead > size) {
        buf = Buffer.allocUnsafe(MAX_CONFIG_BYTES + 1);
        bytesRead = readFully(fd, buf);
      }
      if (bytesRead > MAX_CONFIG_BYTES) return { ok: false, reason: `${shown(configPath)}: file grew over the ${MAX_CONFIG_BYTES}-byte limit while read` };
      return { ok: true, text: buf.subarray(0, bytesRead).toString('utf8') };
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    return { ok: false, reason: `${shown(configPath)}: cannot read file (${(err as NodeJS.ErrnoException).code ?? 'EIO'})` };
  }
}

/** Read from the start until `buf` is full or the file ends; the bytes read. */
function readFully(fd: number, buf: Buffer): number {
  let at = 0;
  while (at < buf.length) {
    const n = readSync(fd, buf, at, buf.length - at, at);
    if (n === 0) break;
    at += n;
  }
  return at;
}

export async function loadRiskParams(configPath: string, root: string): Promise<ParseResult<RiskHarmoniserConfig>> {
  const text = await readConfigText(configPath, root);
  if (!text.ok) return { ok: false, reason: text.reason, errors: [text.reason] };
  return parseRiskParams(text.text, configPath);
}

export async function loadRouterRules(configPath: string, root: string): Promise<ParseResult<RouterConfigBundle>> {
  const text = await readConfigText(configPath, root);
  if (!text.ok) return { ok: false, reason: text.reason, errors: [text.reason] };
  return parseRouterRules(text.text, configPath);
}

export async function loadInstruments(configPath: string, root: string): Promise<ParseResult<InstrumentsConfig>> {
  const text = await readConfigText(configPath, root);
  if (!text.ok) return { ok: false, reason: text.reason, errors: [text.reason] };
  return parseInstruments(text.text, configPath);
}
