/**
 * Pure config parsing: YAML text → validated, frozen config plus a version
 * hash, or a reason that names the file, the line, the field and what was
 * wrong. No file system access here (see load.ts).
 */
import { createHash } from 'node:crypto';
import { load, YAMLException } from 'js-yaml';
import type { z } from 'zod';
import { compileRules, type CompiledRules } from '../domain/route-rules.ts';
import {
  instrumentsFileSchema,
  modelRouterFileSchema,
  riskParamsFileSchema,
  RISK_RESTART_ONLY_FIELDS,
  type InstrumentsConfig,
  type ModelRouterConfig,
  type RiskHarmoniserConfig,
} from './schemas.ts';

export type ParseResult<T> = { ok: true; config: T; version: string } | { ok: false; reason: string; errors: string[] };

export interface RouterConfigBundle {
  readonly config: ModelRouterConfig;
  readonly compiled: CompiledRules;
}

export function versionOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** Best-effort 1-based line of a path (keys and sequence indexes) in a block-style YAML document. */
export function lineOfPath(text: string, path: readonly (string | number)[]): number | undefined {
  const lines = text.split('\n');
  let start = 0;
  let parentIndent = -1;
  let found: number | undefined;
  for (const segment of path) {
    let hit = -1;
    let count = 0;
    let itemIndent = -1;
    for (let i = start; i < lines.length; i++) {
      const content = lines[i]!.replace(/(^|\s)#.*$/, '');
      if (content.trim() === '') continue;
      const indent = content.length - content.trimStart().length;
      const dash = /^\s*-(\s|$)/.test(content);
      const effective = i === start && dash && found !== undefined ? indent + 2 : indent;
      const sameLevelItem = typeof segment === 'number' && dash && indent === parentIndent;
      if (effective <= parentIndent && !sameLevelItem && (i > start || found === undefined || !dash)) break;
      if (typeof segment === 'number') {
        if (!dash) continue;
        if (itemIndent < 0) itemIndent = indent;
        if (indent !== itemIndent) continue;
        if (count === segment) {
          hit = i;
          parentIndent = indent;
          break;
        }
        count++;
      } else {
        const key = segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        if (new RegExp(`^\\s*(?:-\\s+)?["']?${key}["']?\\s*:`).test(content)) {
          hit = i;
          parentIndent = dash ? indent + 2 : indent;
          break;
        }
      }
    }
    if (hit < 0) return found;
    found = hit + 1;
    start = typeof segment === 'number' ? hit : hit + 1;
  }
  return found;
}

function parseYaml(text: string, file: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: load(text, { filename: file }) };
  } catch (err) {
    if (err instanceof YAMLException) {
      const line = err.mark ? err.mark.line + 1 : undefined;
      return { ok: false, reason: `${file}${line ? `:${line}` : ''}: invalid YAML: ${err.reason}` };
    }
    return { ok: false, reason: `${file}: invalid YAML: ${String(err)}` };
  }
}

/** At most this many problems are described (each costs a scan of the text: linear, whatever the file holds). */
export const MAX_REPORTED_ERRORS = 20;

function describeIssues(text: string, file: string, issues: readonly z.core.$ZodIssue[]): string[] {
  const described = issues.slice(0, MAX_REPORTED_ERRORS).map((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const line = lineOfPath(text, path);
    const field = path.join('.') || '(root)';
    return `${file}${line ? `:${line}` : ''}: ${field}: ${issue.message}`;
  });
  if (issues.length > MAX_REPORTED_ERRORS) described.push(`${file}: ${issues.length - MAX_REPORTED_ERRORS} more problem(s) not listed`);
  return described;
}

function fail<T>(errors: string[]): ParseResult<T> {
  return { ok: false, reason: errors.join('; '), errors };
}

export function parseRiskParams(text: string, file = 'conf/risk_params.yml'): ParseResult<RiskHarmoniserConfig> {
  const yaml = parseYaml(text, file);
  if (!yaml.ok) return fail([yaml.reason]);
  const parsed = riskParamsFileSchema.safeParse(yaml.value);
  if (!parsed.success) return fail(describeIssues(text, file, parsed.error.issues));
  return { ok: true, config: deepFreeze(parsed.data.risk_harmoniser), version: versionOf(text) };
}

export function parseRouterRules(text: string, file = 'model_router_rules.yml'): ParseResult<RouterConfigBundle> {
  const yaml = parseYaml(text, file);
  if (!yaml.ok) return fail([yaml.reason]);
  const parsed = modelRouterFileSchema.safeParse(yaml.value);
  if (!parsed.success) return fail(describeIssues(text, file, parsed.error.issues));
  const config = deepFreeze(parsed.data.model_router);
  const compiled = compileRules(config);
  if (!compiled.ok) {
    const described = compiled.errors.slice(0, MAX_REPORTED_ERRORS).map((e) => {
      const line = lineOfPath(text, e.path);
      return `${file}${line ? `:${line}` : ''}: ${e.path.join('.')}: ${e.message}`;
    });
    if (compiled.errors.length > MAX_REPORTED_ERRORS) described.push(`${file}: ${compiled.errors.length - MAX_REPORTED_ERRORS} more problem(s) not listed`);
    return fail(described);
  }
  return { ok: true, config: { config, compiled: compiled.compiled }, version: versionOf(text) };
}

export function parseInstruments(text: string, file = 'conf/instruments.yml'): ParseResult<InstrumentsConfig> {
  const yaml = parseYaml(text, file);
  if (!yaml.ok) return fail([yaml.reason]);
  const parsed = instrumentsFileSchema.safeParse(yaml.value);
  if (!parsed.success) return fail(describeIssues(text, file, parsed.error.issues));
  return { ok: true, config: deepFreeze(parsed.data.instruments), version: versionOf(text) };
}

/** Restart-only fields that differ between two risk configs (dotted paths). */
export function changedRestartOnlyFields(before: RiskHarmoniserConfig, after: RiskHarmoniserConfig): string[] {
  return RISK_RESTART_ONLY_FIELDS.filter((path) => {
    const get = (obj: unknown): unknown => path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
    return JSON.stringify(get(before)) !== JSON.stringify(get(after));
  });
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
