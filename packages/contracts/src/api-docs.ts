import { apiServiceNames } from './api-catalogue.ts';
import { asyncApiDocument } from './asyncapi.ts';
import { openApiDocument } from './openapi.ts';

/** Where `npm run docs:api` writes each document (relative to the repository root), and its text. */
export function renderApiDocuments(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const service of apiServiceNames)
    files[`docs/openapi/${service}.json`] = `${JSON.stringify(openApiDocument(service), null, 2)}\n`;
  files['docs/asyncapi.json'] = `${JSON.stringify(asyncApiDocument(), null, 2)}\n`;
  return files;
}
