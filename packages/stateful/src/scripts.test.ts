import { describe, expect, it } from 'vitest';
import { helpersFor, preludeHelpers, readScripts } from './scripts.ts';

const prelude = `-- header comment

local function a()
  return 1
end

-- b calls a
local function b()
  return a() + 1
end

local function c()
  return 3
end`;

describe('scripts', () => {
  it('scripts - a script carries the prelude helpers it calls, directly or through another, in prelude order', () => {
    const helpers = preludeHelpers(prelude);
    expect(helpers.map((h) => h.name)).toEqual(['a', 'b', 'c']);
    expect(helpersFor('return b()', helpers)).toBe(`${helpers[0]!.text}\n\n${helpers[1]!.text}`);
    expect(helpersFor('return c() + a()', helpers)).toBe(`${helpers[0]!.text}\n\n${helpers[2]!.text}`);
  });

  it('scripts - a helper named only in a comment is not carried, nor a longer name that contains it', () => {
    const helpers = preludeHelpers(prelude);
    expect(helpersFor('-- unlike b(), this returns 0\nlocal ab = 0\nreturn ab', helpers)).toBe('');
  });

  it('scripts - a prelude block that is not one local function is refused', () => {
    expect(() => preludeHelpers('local function a() end\nlocal function b() end')).toThrow(
      /one local function/,
    );
    expect(() => preludeHelpers('local x = 1')).toThrow(/one local function/);
  });

  it('scripts - every helper a script calls is defined in its source, before its body', () => {
    for (const script of readScripts().values()) {
      const defined = [...script.source.matchAll(/^local function (\w+)\(/gm)].map((m) => m[1]!);
      const code = script.source.replace(/--.*$/gm, '');
      for (const name of [
        'now_ms',
        'bad_value',
        'deadline_of',
        'is_live',
        'tidy',
        'live_heads',
        'parse_link',
        'live_link',
      ])
        if (new RegExp(`\\b${name}\\(`).test(code))
          expect(defined, `${script.name} calls ${name}`).toContain(name);
    }
  });
});
