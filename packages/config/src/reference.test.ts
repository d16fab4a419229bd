import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REFERENCE_END, REFERENCE_START, renderReference, settingGroups } from './reference.ts';

describe('configuration reference', () => {
  it('README - the reference in README.md is the one rendered from the schemas', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf(REFERENCE_START);
    const end = readme.indexOf(REFERENCE_END);
    expect(start, 'README.md has the reference markers').toBeGreaterThanOrEqual(0);
    expect(readme.slice(start, end + REFERENCE_END.length), 'run `npm run docs -w @tideline/config`').toBe(
      renderReference(),
    );
  });

  it('names - every variable is TIDELINE_-prefixed, unique, and durations carry their unit', () => {
    const seen = new Map<string, unknown>();
    for (const spec of Object.values(settingGroups)) {
      for (const setting of Object.values(spec)) {
        expect(setting.env).toMatch(/^TIDELINE_[A-Z0-9_]+$/);
        const previous = seen.get(setting.env);
        expect(previous === undefined || previous === setting, `${setting.env} defined twice`).toBe(true);
        seen.set(setting.env, setting);
        if (/millisecond/.test(setting.rule)) expect(setting.env).toMatch(/_MS$/);
        if (/of seconds/.test(setting.rule)) expect(setting.env).toMatch(/_SECONDS$/);
        expect(setting.doc.length).toBeGreaterThan(5);
      }
    }
  });

  it('groups - every group lists a variable of its own, once, under a name for people', () => {
    const groups = renderReference()
      .split(/\n\*\*/)
      .slice(1)
      .map((part) => ({
        name: part.slice(0, part.indexOf('**')),
        rows: part.split('\n| `TIDELINE_').length - 1,
      }));
    expect(groups.map((g) => g.name)).toEqual(Object.keys(settingGroups));
    for (const group of groups) {
      expect(group.rows, `group ${group.name} has no variable of its own`).toBeGreaterThan(0);
      // A group added by its identifier (\`{ devTokenSettings }\`) renders under that identifier.
      expect(group.name, 'a group name is words, not an identifier').not.toMatch(/^[a-z]+[A-Z]\w*$/);
    }
  });
});
