import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** The Lua scripts of `packages/stateful/lua`, by file name without `.lua`. */
export const SCRIPT_NAMES = [
  'service_state_set',
  'service_state_get',
  'service_state_remove',
  'link_set',
  'link_try_set',
  'link_compute',
  'link_get',
  'link_remove',
  'link_all',
  'lease_renew',
  'conn_acquire',
  'conn_release',
  'conn_count',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export interface Script {
  readonly name: ScriptName;
  readonly source: string;
  /** SHA1 of `source`, what EVALSHA addresses it by. */
  readonly sha: string;
}

const luaDir = new URL('../lua/', import.meta.url);

/** Reads every script once, each prefixed with the shared `_prelude.lua`. */
export function readScripts(): ReadonlyMap<ScriptName, Script> {
  const prelude = readFileSync(new URL('_prelude.lua', luaDir), 'utf8');
  const scripts = new Map<ScriptName, Script>();
  for (const name of SCRIPT_NAMES) {
    const body = readFileSync(new URL(`${name}.lua`, luaDir), 'utf8');
    const source = `${prelude}\n${body}`;
    scripts.set(name, { name, source, sha: createHash('sha1').update(source).digest('hex') });
  }
  return scripts;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Runs the scripts by EVALSHA. They are loaded with SCRIPT LOAD when the connection becomes
 * ready; if the server forgot them since (restart, SCRIPT FLUSH, failover to a replica that never
 * saw them) a call meets NOSCRIPT, loads that script and runs it again — callers never see it.
 */
export class ScriptRunner {
  private readonly scripts = readScripts();

  constructor(private readonly redis: Redis) {}

  get all(): Iterable<Script> {
    return this.scripts.values();
  }

  shaOf(name: ScriptName): string {
    return this.script(name).sha;
  }

  /** SCRIPT LOAD of every script. */
  async loadAll(): Promise<void> {
    await Promise.all([...this.scripts.values()].map((script) => this.load(script)));
  }

  async run(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const script = this.script(name);
    try {
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      await this.load(script);
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args);
    }
  }

  private script(name: ScriptName): Script {
    const script = this.scripts.get(name);
    if (!script) throw new Error(`unknown script ${name}`);
    return script;
  }

  private async load(script: Script): Promise<void> {
    const sha = await this.redis.script('LOAD', script.source);
    if (sha !== script.sha)
      throw new Error(`SCRIPT LOAD of ${script.name} answered ${String(sha)}, expected ${script.sha}`);
  }
}
