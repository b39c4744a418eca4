import {
  OperationNodeTransformer,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type TableNode,
  type UnknownRow,
} from 'kysely';
import type { QueryId } from 'kysely';

/**
 * Applies env.php's `db.table_prefix` to every table the sidecar knows, so code writes unprefixed names.
 *
 * Only the known table names are rewritten: a TableNode also stands for an alias in references (`s.event_name`
 * after `selectFrom('async_event_subscriber as s')`), and an alias must keep its name.
 */
export class TablePrefixPlugin implements KyselyPlugin {
  readonly #transformer: PrefixTransformer;

  constructor(prefix: string, tables: Iterable<string>) {
    this.#transformer = new PrefixTransformer(prefix, new Set(tables));
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node, args.queryId);
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

class PrefixTransformer extends OperationNodeTransformer {
  readonly #prefix: string;
  readonly #tables: ReadonlySet<string>;

  constructor(prefix: string, tables: ReadonlySet<string>) {
    super();
    this.#prefix = prefix;
    this.#tables = tables;
  }

  protected override transformTable(node: TableNode, queryId?: QueryId): TableNode {
    const transformed = super.transformTable(node, queryId);
    const identifier = transformed.table.identifier;
    if (transformed.table.schema || !this.#tables.has(identifier.name)) return transformed;
    return {
      ...transformed,
      table: { ...transformed.table, identifier: { ...identifier, name: this.#prefix + identifier.name } },
    };
  }
}
