import { createHash } from 'node:crypto';

/*
 * Names of indexes and foreign keys as Magento's declarative schema gives them in the database
 * (Magento\Framework\DB\Adapter\Pdo\Mysql::getIndexName/getForeignKeyName with
 * Magento\Framework\DB\ExpressionConverter): built from the prefixed table names, upper-cased, abbreviated when
 * longer than 64 characters and hashed (md5 with a `fk_`/`idx_`/`unq_` marker) when still too long. Without a
 * table prefix they equal the referenceIds of upstream's db_schema.xml (e.g. ASYNC_EVENT_SUBSCRIBER_LOG_UUID and
 * FK_5DC4CE95673D2497179D07B60DE79F61), so a sidecar-created table is indistinguishable from a PHP-created one.
 */

const MAX_IDENTIFIER = 64;

// ExpressionConverter's abbreviation dictionary.
const ABBREVIATIONS: Readonly<Record<string, string>> = {
  address: 'addr', admin: 'adm', attribute: 'attr', enterprise: 'ent', catalog: 'cat', category: 'ctgr',
  customer: 'cstr', notification: 'ntfc', product: 'prd', session: 'sess', user: 'usr', entity: 'entt',
  datetime: 'dtime', decimal: 'dec', varchar: 'vchr', index: 'idx', compare: 'cmp', bundle: 'bndl',
  option: 'opt', gallery: 'glr', media: 'mda', value: 'val', link: 'lnk', title: 'ttl', super: 'spr',
  label: 'lbl', website: 'ws', aggregat: 'aggr', minimal: 'min', inventory: 'inv', status: 'sts',
  agreement: 'agrt', layout: 'lyt', resource: 'res', directory: 'dir', downloadable: 'dl', element: 'elm',
  fieldset: 'fset', checkout: 'chkt', newsletter: 'nlttr', shipping: 'shpp', calculation: 'calc',
  search: 'srch', query: 'qr',
};
const WORDS = Object.keys(ABBREVIATIONS).sort((a, b) => b.length - a.length);

/** PHP strtr() with the dictionary: at each position the longest matching word is replaced. */
function abbreviate(name: string): string {
  let out = '';
  let i = 0;
  while (i < name.length) {
    const word = WORDS.find((w) => name.startsWith(w, i));
    if (word) {
      out += ABBREVIATIONS[word];
      i += word.length;
    } else {
      out += name[i];
      i += 1;
    }
  }
  return out;
}

function shorten(entityName: string, marker: string): string {
  if (entityName.length <= MAX_IDENTIFIER) return entityName;
  const short = abbreviate(entityName);
  if (short.length <= MAX_IDENTIFIER) return short;
  return marker + createHash('md5').update(entityName).digest('hex');
}

export function indexName(table: string, columns: readonly string[], kind: 'index' | 'unique' = 'index'): string {
  return shorten(`${table}_${columns.join('_')}`, kind === 'unique' ? 'unq_' : 'idx_').toUpperCase();
}

export function foreignKeyName(table: string, column: string, refTable: string, refColumn: string): string {
  return shorten(`${table}_${column}_${refTable}_${refColumn}`, 'fk_').toUpperCase();
}
