/** `npm run chaos -- [--writes N] [--rounds N] [--seed N] [--bus nats|kafka|both] [--scenario name]…` */
import { chaosSettings, parseCli } from '@tideline/config';
import { runChaos } from './run.ts';
import { loadChaosSettings } from './scenario.ts';
import { registeredScenarios } from './scenarios/index.ts';

const settings = loadChaosSettings();
const cli = parseCli({
  name: 'npm run chaos --',
  usage: `[--writes N] [--rounds N] [--seed N] [--bus nats|kafka|both] [--scenario <name>]…

Runs every registered chaos scenario (or those named) once per round per transport, judged by the
history checker; prints one line per check, per-fault "time until live again" and finally
"chaos: N passed, N failed"; exits 1 when any failed.
  --writes N          website writes per scenario run (default: TIDELINE_CHAOS_WRITES = ${settings.chaosWrites})
  --rounds N          rounds (default: TIDELINE_CHAOS_ROUNDS = ${settings.chaosRounds})
  --seed N            seed of the random schedule (default: TIDELINE_CHAOS_SEED = ${settings.chaosSeed})
  --bus <which>       nats, kafka or both (default: both)
  --scenario <name>   run only this scenario; repeat for more (known: ${registeredScenarios()
    .map((s) => s.name)
    .join(', ')})
  -h, --help          this text`,
  options: {
    writes: { type: 'string' },
    rounds: { type: 'string' },
    seed: { type: 'string' },
    bus: { type: 'string' },
    scenario: { type: 'string', multiple: true },
  },
});
const writes = cli.setting('writes', chaosSettings.chaosWrites, settings.chaosWrites);
const rounds = cli.setting('rounds', chaosSettings.chaosRounds, settings.chaosRounds);
const seed = cli.setting('seed', chaosSettings.chaosSeed, settings.chaosSeed);
const busArg = cli.values.bus ?? 'both';
if (!['nats', 'kafka', 'both'].includes(busArg))
  cli.fail(`--bus must be nats, kafka or both, got ${JSON.stringify(busArg)}`);
const known = new Set(registeredScenarios().map((s) => s.name));
for (const name of cli.values.scenario ?? [])
  if (!known.has(name)) cli.fail(`--scenario ${JSON.stringify(name)} is not a registered scenario`);

const result = await runChaos({
  writes,
  rounds,
  seed,
  buses: busArg === 'both' ? ['nats', 'kafka'] : [busArg as 'nats' | 'kafka'],
  ...(cli.values.scenario?.length ? { only: cli.values.scenario } : {}),
});
process.exit(result.failed > 0 ? 1 : 0);
