#!/usr/bin/env -S npx tsx
/**
 * `npm run dlq -- list | show <id> | redrive [--subject <pattern>]… [--id <id>]… [--dry-run] [--again]`:
 * the dead letters of the bus TIDELINE_BUS names (same settings as the services).
 */
import { busSettings, EXIT_USAGE, loadConfigOrExit, parseCli, redactCredentials } from '@tideline/config';
import {
  type DeadLetter,
  listDeadLetters,
  payloadText,
  type RedriveProgress,
  redriveDeadLetters,
} from './dead-letters.ts';
import { createEventBus } from './factory.ts';

const NAME = 'npm run dlq --';
const USAGE = `list | show <id> | redrive [--subject <pattern>]… [--id <id>]… [--dry-run] [--again]

The dead letters of the bus TIDELINE_BUS selects (NATS JetStream or Kafka), read with the services' settings.
  list                   id, original topic/subject, group, reason, age, and whether it was redriven
  show <id>              one dead letter: its headers and decoded payload (credentials redacted)
  redrive                republishes dead letters to the subjects they died on, keeping their msgId
    --subject <pattern>  only those whose original subject matches (\`*\` one token, \`>\` the rest); repeatable
    --id <id>            only this dead letter; repeatable
    --dry-run            print what would be redriven; publish and mark nothing
    --again              also dead letters redriven before (consumers still drop what they handled)
  -h, --help             this text`;

const args = process.argv.slice(2);
const command = args[0];
if (command === undefined || command === '--help' || command === '-h') {
  if (command === undefined) {
    process.stderr.write(`${NAME}: a command is required: list, show <id> or redrive (see --help)\n`);
    process.exit(EXIT_USAGE);
  }
  process.stdout.write(`usage: ${NAME} ${USAGE}\n`);
  process.exit(0);
}
if (command !== 'list' && command !== 'show' && command !== 'redrive') {
  process.stderr.write(`${NAME}: unknown command ${JSON.stringify(command)} (see --help)\n`);
  process.exit(EXIT_USAGE);
}
const showId = command === 'show' ? args[1] : undefined;
const cli = parseCli(
  {
    name: `${NAME} ${command}`,
    usage: USAGE,
    options: {
      subject: { type: 'string', multiple: true },
      id: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean' },
      again: { type: 'boolean' },
    },
  },
  args.slice(command === 'show' ? 2 : 1),
);
const positionOf = (raw: string | undefined, what: string): number => {
  const n = Number(raw);
  if (raw === undefined || !/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1)
    return cli.fail(
      `${what} must be a dead-letter id (a whole number from 1), got ${JSON.stringify(raw ?? '')}`,
    );
  return n;
};
if (command !== 'redrive') {
  for (const option of ['subject', 'id', 'dry-run', 'again'] as const)
    if (cli.values[option] !== undefined) cli.fail(`--${option} belongs to redrive`);
}
const wanted = command === 'show' ? positionOf(showId, 'show <id>') : undefined;
const ids = (cli.values.id ?? []).map((raw) => positionOf(raw, '--id'));

const config = loadConfigOrExit(busSettings);
const bus = createEventBus({ config, clientName: 'dlq-cli' });
const out = (line: string) => process.stdout.write(`${redactCredentials(line)}\n`);

function age(letter: DeadLetter, now: number): string {
  if (!letter.deadLetteredAt) return '?';
  const seconds = Math.max(0, Math.round((now - letter.deadLetteredAt.getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3_600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

function progressLine(p: RedriveProgress, dryRun: boolean): string {
  const verb =
    p.outcome === 'redriven'
      ? dryRun
        ? 'would redrive'
        : 'redriven'
      : p.outcome === 'held'
        ? 'held (original still in the duplicate window)'
        : 'skipped (redriven before)';
  return `${verb} ${p.done}/${p.total} #${p.letter.id} ${p.letter.subject} msgId=${p.letter.msgId} group=${p.letter.group}`;
}

let exitCode = 0;
try {
  await bus.start();
  const pageSize = config.deadLetterPageSize;
  if (command === 'list') {
    const letters = await listDeadLetters(bus, { pageSize });
    const now = Date.now();
    out(['ID', 'TOPIC', 'SUBJECT', 'GROUP', 'REASON', 'AGE', 'REDRIVEN'].join('\t'));
    for (const l of letters)
      out([l.id, l.topic, l.subject, l.group, l.reason, age(l, now), l.redriven ? 'yes' : 'no'].join('\t'));
    process.stderr.write(`${letters.length} dead letter(s)\n`);
  } else if (command === 'show') {
    const letter = (await listDeadLetters(bus, { pageSize })).find((l) => l.id === wanted);
    if (!letter) {
      process.stderr.write(`${NAME} show: no dead letter ${wanted}\n`);
      exitCode = 1;
    } else {
      out(`id:          ${letter.id}`);
      out(`topic:       ${letter.topic}`);
      out(`subject:     ${letter.subject}`);
      out(`group:       ${letter.group}`);
      out(`reason:      ${letter.reason}`);
      out(`deliveries:  ${letter.deliveries}`);
      out(`position:    ${letter.position}`);
      out(`msgId:       ${letter.msgId}`);
      out(`key:         ${letter.key ?? ''}`);
      out(`dead since:  ${letter.deadLetteredAt?.toISOString() ?? '?'}`);
      out(`redriven:    ${letter.redriven ? 'yes' : 'no'}`);
      out('headers:');
      for (const [name, value] of Object.entries(letter.headers)) out(`  ${name}: ${value}`);
      out('payload:');
      out(payloadText(letter));
    }
  } else {
    const dryRun = cli.values['dry-run'] ?? false;
    const result = await redriveDeadLetters(bus, {
      pageSize,
      dryRun,
      again: cli.values.again ?? false,
      ...(cli.values.subject ? { subjects: cli.values.subject } : {}),
      ...(ids.length > 0 ? { ids } : {}),
      onProgress: (p) => out(progressLine(p, dryRun)),
    });
    out(
      `${dryRun ? 'dry run: would redrive' : 'redriven'} ${result.redriven} of ${result.selected} selected; ${result.held} held, ${result.skipped} skipped`,
    );
  }
} catch (error) {
  process.stderr.write(`${NAME} ${command}: ${redactCredentials((error as Error).message)}\n`);
  exitCode = 1;
} finally {
  await bus.drain().catch(() => undefined);
}
process.exit(exitCode);
