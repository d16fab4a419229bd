import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCli } from './cli.ts';
import { REFERENCE_END, REFERENCE_START, renderReference } from './reference.ts';

parseCli({
  name: 'npm run docs -w @tideline/config --',
  usage: `(no arguments)

Rewrites the configuration reference between the markers of the top-level README.md from the settings.
  -h, --help    this text`,
  options: {},
});

const readme = fileURLToPath(new URL('../../../README.md', import.meta.url));
const text = readFileSync(readme, 'utf8');
const start = text.indexOf(REFERENCE_START);
const end = text.indexOf(REFERENCE_END);
if (start < 0 || end < 0) {
  process.stderr.write('README.md has no config reference markers\n');
  process.exit(1);
}
writeFileSync(readme, text.slice(0, start) + renderReference() + text.slice(end + REFERENCE_END.length));
process.stdout.write('README.md configuration reference updated\n');
