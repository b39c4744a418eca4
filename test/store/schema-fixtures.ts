import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';

/*
 * The db_schema.xml files the tables must match, read in place from ../shared/fixtures: upstream 4.x's
 * async_event_subscriber(_log), Magento_Config's core_config_data and Magento_MysqlMq's queue tables.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = path.resolve(repoRoot, '../shared/fixtures');

export const SCHEMA_FILES = [
  path.join(fixtures, 'upstream/mageos-async-events@15365f9d/etc/db_schema.xml'),
  path.join(fixtures, 'magento/app/code/Magento/Config/etc/db_schema.xml'),
  path.join(fixtures, 'magento/app/code/Magento/MysqlMq/etc/db_schema.xml'),
];

export interface XmlColumn {
  name: string;
  type: string;
  length?: string;
  unsigned: boolean;
  nullable: boolean;
  identity: boolean;
  onUpdate: boolean;
  default?: string;
}

export interface XmlTable {
  name: string;
  collation?: string;
  columns: XmlColumn[];
  /** referenceId → kind, for indexes, unique and foreign constraints. */
  keys: { referenceId: string; kind: 'index' | 'unique' | 'foreign' | 'primary'; onDelete?: string }[];
}

type Attrs = Record<string, string | undefined>;

export function readSchemaTables(): XmlTable[] {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => ['table', 'column', 'constraint', 'index'].includes(name),
  });
  const tables: XmlTable[] = [];
  for (const file of SCHEMA_FILES) {
    const doc = parser.parse(readFileSync(file, 'utf8')) as { schema: { table: (Attrs & { column?: Attrs[]; constraint?: Attrs[]; index?: Attrs[] })[] } };
    for (const table of doc.schema.table) {
      tables.push({
        name: String(table.name),
        ...(table.collation ? { collation: table.collation } : {}),
        columns: (table.column ?? []).map((c) => ({
          name: String(c.name),
          type: String(c['xsi:type']),
          ...(c.length ? { length: c.length } : {}),
          unsigned: c.unsigned === 'true',
          nullable: c.nullable !== 'false',
          identity: c.identity === 'true',
          onUpdate: c.on_update === 'true',
          ...(c.default !== undefined ? { default: c.default } : {}),
        })),
        keys: [
          ...(table.constraint ?? []).map((k) => ({
            referenceId: String(k.referenceId),
            kind: String(k['xsi:type']) as 'unique' | 'foreign' | 'primary',
            ...(k['xsi:type'] === 'foreign' ? { onDelete: k.onDelete ?? 'CASCADE' } : {}),
          })),
          ...(table.index ?? []).map((k) => ({ referenceId: String(k.referenceId), kind: 'index' as const })),
        ],
      });
    }
  }
  return tables;
}

/** information_schema DATA_TYPE of a declarative-schema xsi:type. */
export const MYSQL_TYPES: Record<string, string> = {
  int: 'int', smallint: 'smallint', bigint: 'bigint', varchar: 'varchar', boolean: 'tinyint', datetime: 'datetime',
  timestamp: 'timestamp', text: 'text', longtext: 'longtext', blob: 'blob',
};
