import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { get_dmmf } from '@prisma/prisma-schema-wasm';
import pg from 'pg';

/**
 * The shape of a database as comparable lines (`column websites.status website_status not null
 * default 'active'`), read either from `schema.prisma` (through Prisma's own schema parser, the
 * WASM build the CLI uses) or from a live database's catalog. Two equal sets mean the migrations
 * build exactly what the Prisma client expects.
 */
export interface SchemaFacts {
  tables: string[];
  columns: string[];
  indexes: string[];
  foreignKeys: string[];
  enums: string[];
}

export const SCHEMA_PATH = fileURLToPath(new URL('../prisma/schema.prisma', import.meta.url));

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'enum' | 'object';
  type: string;
  isRequired: boolean;
  isList: boolean;
  nativeType: [string, string[]] | null;
  default?: unknown;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string;
  fields: { name: string }[];
}
interface DmmfEnum {
  name: string;
  dbName: string | null;
  values: { name: string; dbName: string | null }[];
}
interface Dmmf {
  datamodel: { models: DmmfModel[]; enums: DmmfEnum[]; indexes: DmmfIndex[] };
}

export function readDmmf(schema = readFileSync(SCHEMA_PATH, 'utf8')): Dmmf {
  return JSON.parse(get_dmmf(JSON.stringify({ prismaSchema: [['schema.prisma', schema]] }))) as Dmmf;
}

const tableOf = (model: DmmfModel) => model.dbName ?? model.name;
const columnOf = (field: DmmfField) => field.dbName ?? field.name;

function pgType(field: DmmfField, enums: Map<string, string>): string {
  if (field.kind === 'enum') return enums.get(field.type)!;
  const [native, args] = field.nativeType ?? [undefined, []];
  switch (field.type) {
    case 'Int':
      return native === 'SmallInt' ? 'smallint' : 'integer';
    case 'BigInt':
      return 'bigint';
    case 'Boolean':
      return 'boolean';
    case 'String':
      if (native === 'VarChar') return `varchar(${args[0]})`;
      if (native === undefined || native === 'Text') return 'text';
      break;
    case 'DateTime':
      if (native === 'Timestamptz') return `timestamptz(${args[0] ?? 6})`;
      if (native === undefined) return 'timestamp(3)';
      break;
    case 'Json':
      return 'jsonb';
  }
  throw new Error(
    `schema-facts: no mapping for ${field.name} ${field.type} ${JSON.stringify(field.nativeType)}`,
  );
}

function pgDefault(table: string, field: DmmfField, enums: Map<string, string>): string | undefined {
  const value = field.default;
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object' && 'name' in value) {
    const fn = (value as { name: string }).name;
    if (fn === 'autoincrement') return `nextval('${table}_${columnOf(field)}_seq'::regclass)`;
    if (fn === 'now') return 'CURRENT_TIMESTAMP';
    throw new Error(`schema-facts: no mapping for default ${fn}()`);
  }
  if (field.kind === 'enum') return `'${String(value)}'::${enums.get(field.type)}`;
  return String(value);
}

const ACTIONS: Record<string, string> = {
  Cascade: 'cascade',
  Restrict: 'restrict',
  NoAction: 'no action',
  SetNull: 'set null',
  SetDefault: 'set default',
};

/** Facts of the database `schema.prisma` describes, with Prisma's own naming defaults. */
export function factsFromPrisma(dmmf: Dmmf = readDmmf()): SchemaFacts {
  const enums = new Map(dmmf.datamodel.enums.map((e) => [e.name, e.dbName ?? e.name]));
  const models = new Map(dmmf.datamodel.models.map((m) => [m.name, m]));
  const facts: SchemaFacts = { tables: [], columns: [], indexes: [], foreignKeys: [], enums: [] };
  for (const e of dmmf.datamodel.enums)
    facts.enums.push(`enum ${e.dbName ?? e.name} (${e.values.map((v) => v.dbName ?? v.name).join(', ')})`);
  for (const model of dmmf.datamodel.models) {
    const table = tableOf(model);
    const column = (name: string) => columnOf(model.fields.find((f) => f.name === name)!);
    facts.tables.push(`table ${table}`);
    for (const field of model.fields) {
      if (field.kind === 'object') {
        if (!field.relationFromFields?.length) continue;
        const target = models.get(field.type)!;
        const from = field.relationFromFields.map(column);
        const to = field.relationToFields!.map((name) =>
          columnOf(target.fields.find((f) => f.name === name)!),
        );
        facts.foreignKeys.push(
          `fk ${table}_${from.join('_')}_fkey ${table}(${from.join(', ')}) -> ${tableOf(target)}(${to.join(', ')}) on delete ${ACTIONS[field.relationOnDelete ?? 'Restrict']} on update ${ACTIONS[field.relationOnUpdate ?? 'Cascade']}`,
        );
        continue;
      }
      if (field.isList) throw new Error(`schema-facts: list field ${field.name} is not mapped`);
      const def = pgDefault(table, field, enums);
      facts.columns.push(
        `column ${table}.${columnOf(field)} ${pgType(field, enums)} ${field.isRequired ? 'not null' : 'null'}${def ? ` default ${def}` : ''}`,
      );
    }
  }
  for (const index of dmmf.datamodel.indexes) {
    const model = models.get(index.model)!;
    const table = tableOf(model);
    const columns = index.fields.map((f) => columnOf(model.fields.find((x) => x.name === f.name)!));
    if (index.type === 'id')
      facts.indexes.push(`primary key ${index.dbName ?? `${table}_pkey`} on ${table}(${columns.join(', ')})`);
    else if (index.type === 'unique')
      facts.indexes.push(
        `unique index ${index.dbName ?? `${table}_${columns.join('_')}_key`} on ${table}(${columns.join(', ')})`,
      );
    else if (index.type === 'normal')
      facts.indexes.push(
        `index ${index.dbName ?? `${table}_${columns.join('_')}_idx`} on ${table}(${columns.join(', ')})`,
      );
    else throw new Error(`schema-facts: index type ${index.type} is not mapped`);
  }
  return sorted(facts);
}

function typeOf(row: {
  data_type: string;
  udt_name: string;
  character_maximum_length: number | null;
  datetime_precision: number | null;
}): string {
  switch (row.data_type) {
    case 'character varying':
      return row.character_maximum_length === null ? 'varchar' : `varchar(${row.character_maximum_length})`;
    case 'timestamp with time zone':
      return `timestamptz(${row.datetime_precision})`;
    case 'timestamp without time zone':
      return `timestamp(${row.datetime_precision})`;
    case 'USER-DEFINED':
      return row.udt_name;
    default:
      return row.data_type;
  }
}

const FK_ACTIONS: Record<string, string> = {
  a: 'no action',
  r: 'restrict',
  c: 'cascade',
  n: 'set null',
  d: 'set default',
};

/**
 * Facts of a live database's `public` schema, leaving out `ignoreTables` (the migrations table)
 * and the indexes named in `ignoreIndexes` (SQL-only ones Prisma cannot describe).
 */
export async function factsFromDatabase(
  url: string,
  options: { ignoreTables: string[]; ignoreIndexes: string[] },
): Promise<SchemaFacts> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const facts: SchemaFacts = { tables: [], columns: [], indexes: [], foreignKeys: [], enums: [] };
    const ignoredTable = (t: string) => options.ignoreTables.includes(t);
    const tables = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    for (const { table_name } of tables.rows)
      if (!ignoredTable(table_name)) facts.tables.push(`table ${table_name}`);
    const columns = await client.query(
      `SELECT table_name, column_name, data_type, udt_name, character_maximum_length, datetime_precision, is_nullable, column_default
         FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    for (const row of columns.rows) {
      if (ignoredTable(row.table_name)) continue;
      facts.columns.push(
        `column ${row.table_name}.${row.column_name} ${typeOf(row)} ${row.is_nullable === 'NO' ? 'not null' : 'null'}${row.column_default !== null ? ` default ${row.column_default}` : ''}`,
      );
    }
    const indexes = await client.query<{
      name: string;
      table: string;
      columns: string[];
      unique: boolean;
      primary: boolean;
      partial: boolean;
    }>(
      `SELECT i.relname::text AS name, t.relname::text AS table, x.indisunique AS unique, x.indisprimary AS primary,
              x.indpred IS NOT NULL AS partial,
              array(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n)
                      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n) AS columns
         FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace s ON s.oid = t.relnamespace
        WHERE s.nspname = 'public'`,
    );
    for (const row of indexes.rows) {
      if (ignoredTable(row.table) || options.ignoreIndexes.includes(row.name)) continue;
      const kind = row.primary ? 'primary key' : row.unique ? 'unique index' : 'index';
      facts.indexes.push(
        `${kind}${row.partial ? ' (partial)' : ''} ${row.name} on ${row.table}(${row.columns.join(', ')})`,
      );
    }
    const fks = await client.query<{
      name: string;
      table: string;
      columns: string[];
      target: string;
      target_columns: string[];
      on_delete: string;
      on_update: string;
    }>(
      `SELECT c.conname AS name, t.relname AS table, f.relname AS target, c.confdeltype AS on_delete, c.confupdtype AS on_update,
              array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(attnum, n)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.n) AS columns,
              array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(attnum, n)
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.n) AS target_columns
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_class f ON f.oid = c.confrelid
         JOIN pg_namespace s ON s.oid = t.relnamespace
        WHERE c.contype = 'f' AND s.nspname = 'public'`,
    );
    for (const row of fks.rows) {
      if (ignoredTable(row.table)) continue;
      facts.foreignKeys.push(
        `fk ${row.name} ${row.table}(${row.columns.join(', ')}) -> ${row.target}(${row.target_columns.join(', ')}) on delete ${FK_ACTIONS[row.on_delete]} on update ${FK_ACTIONS[row.on_update]}`,
      );
    }
    const enums = await client.query<{ name: string; labels: string[] }>(
      `SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace s ON s.oid = t.typnamespace
        WHERE s.nspname = 'public' GROUP BY t.typname`,
    );
    for (const row of enums.rows) facts.enums.push(`enum ${row.name} (${row.labels.join(', ')})`);
    return sorted(facts);
  } finally {
    await client.end();
  }
}

function sorted(facts: SchemaFacts): SchemaFacts {
  return {
    tables: [...facts.tables].sort(),
    columns: [...facts.columns].sort(),
    indexes: [...facts.indexes].sort(),
    foreignKeys: [...facts.foreignKeys].sort(),
    enums: [...facts.enums].sort(),
  };
}
