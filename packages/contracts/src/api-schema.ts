import { z } from 'zod';
import { ClusterName, NodeName } from './nodes.ts';
import { Domain } from './websites.ts';

export type JsonSchema = Record<string, unknown>;

/** Example values of the identifiers whose rule alone does not show a reader what one looks like. */
const EXAMPLES = new Map<z.ZodType, unknown>([
  [Domain, 'www.example.com'],
  [ClusterName, 'prod-eu-1'],
  [NodeName, 'node-1'],
]);

/**
 * Turns zod contracts into JSON Schemas for a document (OpenAPI, AsyncAPI). Schemas named in
 * `names` become shared components, referenced as `${refPrefix}<Name>`; everything else is
 * inlined. `io: 'input'` describes what a client may send (defaults make fields optional),
 * `'output'` what a service answers. Types JSON cannot express (transforms, `unknown`) become `{}`.
 */
export class SchemaSet {
  readonly components: Record<string, JsonSchema> = {};
  private readonly registry = z.registry<{ id: string }>();

  constructor(
    private readonly target: 'draft-2020-12' | 'draft-7',
    private readonly refPrefix: string,
    names: Record<string, z.ZodType>,
  ) {
    for (const [id, schema] of Object.entries(names)) this.registry.add(schema, { id });
  }

  /** The JSON Schema of `schema`; shared parts (output only) go to {@link components}. */
  of(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const json = z.toJSONSchema(schema, {
      target: this.target,
      io,
      unrepresentable: 'any',
      override: (context) => {
        const example = EXAMPLES.get(context.zodSchema as unknown as z.ZodType);
        if (example !== undefined) context.jsonSchema['examples'] = [example];
      },
      ...(io === 'output' ? { metadata: this.registry } : {}),
    }) as JsonSchema;
    // Shared parts come back under `$defs` (2020-12) or `definitions` (draft 7).
    const {
      $schema: _schema,
      $defs,
      definitions,
      id: _id,
      ...rest
    } = json as JsonSchema & {
      $defs?: Record<string, JsonSchema>;
      definitions?: Record<string, JsonSchema>;
    };
    // A named schema comes back as `{ $ref }` to its own definition, among `$defs`.
    for (const [id, def] of Object.entries({ ...$defs, ...definitions })) this.addComponent(id, def);
    return this.rewrite(rest);
  }

  private addComponent(id: string, def: JsonSchema): void {
    const { id: _id, ...body } = def;
    const rewritten = this.rewrite(body);
    const known = this.components[id];
    if (known && JSON.stringify(known) !== JSON.stringify(rewritten))
      throw new Error(`schema component ${id} has two different definitions`);
    this.components[id] = rewritten;
  }

  private rewrite(schema: JsonSchema): JsonSchema {
    return JSON.parse(
      JSON.stringify(schema).replace(/"#\/(\$defs|definitions)\//g, `"${this.refPrefix}`),
    ) as JsonSchema;
  }
}

/** Fastify path syntax → OpenAPI/AsyncAPI syntax: `/a/:id` → `/a/{id}`. */
export function templatePath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
