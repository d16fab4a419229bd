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

/** A helper of `_prelude.lua`: one `local function` with the comment above it. */
interface Helper {
  name: string;
  text: string;
}

/** The helpers of `_prelude.lua`, in file order; its blocks are separated by blank lines. */
export function preludeHelpers(prelude: string): Helper[] {
  const helpers: Helper[] = [];
  for (const block of prelude.split(/\n\s*\n/)) {
    const names = [...block.matchAll(/^local function (\w+)\(/gm)].map((match) => match[1]!);
    if (names.length === 0 && block.split('\n').every((line) => line.trim() === '' || line.startsWith('--')))
      continue;
    if (names.length !== 1)
      throw new Error(`_prelude.lua: each block must define one local function, found ${names.length}`);
    helpers.push({ name: names[0]!, text: block.trim() });
  }
  return helpers;
}

/** Whether Lua `code` names `name` outside its comments. */
const uses = (code: string, name: string) => new RegExp(`\\b${name}\\b`).test(code.replace(/--.*$/gm, ''));

/**
 * The helpers a script body calls, directly or through another helper, in prelude order. Every
 * helper defined is a closure the script creates on each call, so a script carries only its own.
 */
export function helpersFor(body: string, helpers: readonly Helper[]): string {
  const needed = new Set<string>();
  let text = body;
  for (let grew = true; grew; ) {
    grew = false;
    for (const helper of helpers) {
      if (!needed.has(helper.name) && uses(text, helper.name)) {
        needed.add(helper.name);
        text += `\n${helper.text}`;
        grew = true;
      }
    }
  }
  return helpers
    .filter((helper) => needed.has(helper.name))
    .map((helper) => helper.text)
    .join('\n\n');
}

/** Reads every script once, each prefixed with the helpers of `_prelude.lua` that it uses. */
export function readScripts(): ReadonlyMap<ScriptName, Script> {
  const helpers = preludeHelpers(readFileSync(new URL('_prelude.lua', luaDir), 'utf8'));
  const scripts = new Map<ScriptName, Script>();
  for (const name of SCRIPT_NAMES) {
    const body = readFileSync(new URL(`${name}.lua`, luaDir), 'utf8');
    const source = `${helpersFor(body, helpers)}\n${body}`;
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
