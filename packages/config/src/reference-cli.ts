import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REFERENCE_END, REFERENCE_START, renderReference } from './reference.ts';

const readme = fileURLToPath(new URL('../../../README.md', import.meta.url));
const text = readFileSync(readme, 'utf8');
const start = text.indexOf(REFERENCE_START);
const end = text.indexOf(REFERENCE_END);
if (start < 0 || end < 0) throw new Error('README.md has no config reference markers');
writeFileSync(readme, text.slice(0, start) + renderReference() + text.slice(end + REFERENCE_END.length));
process.stdout.write('README.md configuration reference updated\n');
