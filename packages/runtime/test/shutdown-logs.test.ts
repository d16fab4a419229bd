import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Shutdown } from '../src/shutdown.ts';

const STOP_TIMEOUT_MS = 10_000;

describe('Shutdown', () => {
  it('logs written - resolves once every line logged so far is in an asynchronous destination', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tideline-logs-')), 'out.log');
    const destination = pino.destination({ dest: file, sync: false });
    await new Promise((resolve) => destination.once('ready', resolve));
    const logger = pino({ base: null }, destination);
    const shutdown = new Shutdown(logger, STOP_TIMEOUT_MS);
    const count = 2_000;
    for (let i = 0; i < count; i++) logger.info({ i }, 'line');
    await shutdown.logsWritten();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { i: number }).i)).toEqual(
      Array.from({ length: count }, (_, i) => i),
    );
    destination.end();
  });

  it('logs written - resolves at once for a destination that writes synchronously', async () => {
    const lines: string[] = [];
    const logger = pino({ base: null }, { write: (line: string) => void lines.push(line) });
    logger.info('line');
    await new Shutdown(logger, STOP_TIMEOUT_MS).logsWritten();
    expect(lines).toHaveLength(1);
  });
});
