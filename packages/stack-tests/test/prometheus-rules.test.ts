import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/index.ts';

const PROMETHEUS_DIR = join(REPO_ROOT, 'deploy/prometheus');

/** Runs promtool (infra/scripts/ensure-prometheus.sh installs it) and returns its exit status and output. */
function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8' });
  if (run.error)
    throw new Error(`promtool could not run (bash infra/scripts/ensure-prometheus.sh): ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('Prometheus rules', () => {
  it('rules - promtool check rules accepts deploy/prometheus/rules/tideline.rules.yml', () => {
    const { status, output } = promtool('check', 'rules', 'rules/tideline.rules.yml');
    expect(output).toContain('SUCCESS');
    expect(status, output).toBe(0);
  });

  it('rules - the promtool unit tests of every alert pass', () => {
    const { status, output } = promtool('test', 'rules', 'tests/tideline.rules.test.yml');
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });

  it('rules - the example scrape configuration is valid and loads the rules', () => {
    const { status, output } = promtool('check', 'config', 'prometheus.yml');
    expect(status, output).toBe(0);
    expect(output).toMatch(/rules\/tideline\.rules\.yml[\s\S]*SUCCESS/);
  });

  it('rules - a broken alert makes promtool test rules fail (the unit tests can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tideline-rules-'));
    mkdirSync(join(dir, 'rules'));
    mkdirSync(join(dir, 'tests'));
    const rules = readFileSync(join(PROMETHEUS_DIR, 'rules/tideline.rules.yml'), 'utf8');
    writeFileSync(
      join(dir, 'rules/tideline.rules.yml'),
      rules.replace('reason="SLOW_CONSUMER"', 'reason="SLOW_CONSUMERS"'),
    );
    writeFileSync(
      join(dir, 'tests/tideline.rules.test.yml'),
      readFileSync(join(PROMETHEUS_DIR, 'tests/tideline.rules.test.yml'), 'utf8'),
    );
    const run = spawnSync('promtool', ['test', 'rules', 'tests/tideline.rules.test.yml'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(run.status).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`).toContain('TidelineGatewaySlowConsumers');
  });
});
