/**
 * Lua scripts live as files in `lua/`, named by what they do and how many
 * keys they take (`prune-heartbeats-2.lua`: two keys; `-n` when the caller
 * passes the count), each with a header saying its keys, arguments and
 * result. They are read once at load and sent with EVALSHA (EVAL on a cache
 * miss) through ioredis' defineCommand, per client.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisClient } from './connect.ts';

export interface LuaScript {
  /** Command name it is defined under on a client. */
  readonly command: string;
  /** Declared key count, or undefined when the caller passes it first (`-n` files). */
  readonly numberOfKeys: number | undefined;
  readonly lua: string;
}

const DIR = join(import.meta.dirname, 'lua');

/** Read `lua/<file>`; the key count comes from the name's last part. */
export function luaScript(file: string): LuaScript {
  const m = /^([a-z0-9-]+?)-(\d+|n)\.lua$/.exec(file);
  if (!m) throw new Error(`Lua script file "${file}": expected <name>-<keys>.lua, e.g. prune-heartbeats-2.lua`);
  const lua = readFileSync(join(DIR, file), 'utf8');
  const command = `tp_${m[1]!.replace(/-/g, '_')}`;
  return { command, numberOfKeys: m[2] === 'n' ? undefined : Number(m[2]), lua };
}

type Command = (...args: (string | number)[]) => Promise<unknown>;
const defined = new WeakMap<RedisClient, Set<string>>();

/** Run a script on a client (defined on it once). For `-n` scripts, `keys.length` is passed as the count. */
export async function runLua(redis: RedisClient, script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  let names = defined.get(redis);
  if (!names) defined.set(redis, (names = new Set()));
  if (!names.has(script.command)) {
    redis.defineCommand(script.command, script.numberOfKeys === undefined ? { lua: script.lua } : { numberOfKeys: script.numberOfKeys, lua: script.lua });
    names.add(script.command);
  }
  if (script.numberOfKeys !== undefined && keys.length !== script.numberOfKeys) throw new Error(`${script.command}: expected ${script.numberOfKeys} keys, got ${keys.length}`);
  const fn = (redis as unknown as Record<string, Command>)[script.command]!.bind(redis);
  return script.numberOfKeys === undefined ? fn(keys.length, ...keys, ...args) : fn(...keys, ...args);
}
