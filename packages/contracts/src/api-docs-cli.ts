/**
 * `npm run docs:api`: writes the OpenAPI document of every HTTP service (`docs/openapi/<service>.json`)
 * and the AsyncAPI document of the socket protocol and the bus (`docs/asyncapi.json`), generated
 * from the contracts. A test fails while the committed files differ from what this writes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderApiDocuments } from './api-docs.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
for (const [path, text] of Object.entries(renderApiDocuments())) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
  console.log(`wrote ${path}`);
}
