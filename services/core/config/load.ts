/**
 * Reading config files from disk. `config_path` values from reload payloads
 * are resolved against the project root and may not leave the config
 * folders (the root's YAML files and conf/).
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { parseRiskParams, parseRouterRules, type ParseResult, type RouterConfigBundle } from './parse.ts';
import type { RiskHarmoniserConfig } from './schemas.ts';

export function projectRoot(): string {
  return resolve(process.env['TP_ROOT'] ?? process.cwd());
}

export type PathCheck = { ok: true; absolute: string } | { ok: false; reason: string };

/** Allowed: `conf/**.yml|yaml` and `*.yml|yaml` directly in the project root. */
export function resolveConfigPath(configPath: string, root = projectRoot()): PathCheck {
  if (configPath.includes('\0')) return { ok: false, reason: 'config_path contains a NUL byte' };
  const absolute = isAbsolute(configPath) ? resolve(configPath) : resolve(root, configPath);
  const rel = relative(root, absolute);
  if (rel.startsWith('..') || isAbsolute(rel)) return { ok: false, reason: `config_path "${configPath}" is outside the project's config folders` };
  if (!/\.ya?ml$/.test(rel)) return { ok: false, reason: `config_path "${configPath}" is not a .yml/.yaml file` };
  const parts = rel.split(sep);
  if (parts.length === 1 || parts[0] === 'conf') return { ok: true, absolute };
  return { ok: false, reason: `config_path "${configPath}" is outside the project's config folders (root *.yml or conf/)` };
}

async function readConfigText(configPath: string, root: string): Promise<{ ok: true; text: string } | { ok: false; reason: string }> {
  const checked = resolveConfigPath(configPath, root);
  if (!checked.ok) return checked;
  try {
    return { ok: true, text: await readFile(checked.absolute, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    return { ok: false, reason: `${configPath}: cannot read file (${code})` };
  }
}

export async function loadRiskParams(configPath: string, root = projectRoot()): Promise<ParseResult<RiskHarmoniserConfig>> {
  const text = await readConfigText(configPath, root);
  if (!text.ok) return { ok: false, reason: text.reason, errors: [text.reason] };
  return parseRiskParams(text.text, configPath);
}

export async function loadRouterRules(configPath: string, root = projectRoot()): Promise<ParseResult<RouterConfigBundle>> {
  const text = await readConfigText(configPath, root);
  if (!text.ok) return { ok: false, reason: text.reason, errors: [text.reason] };
  return parseRouterRules(text.text, configPath);
}
