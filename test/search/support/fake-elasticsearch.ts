import http from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * Just enough of Elasticsearch's wire protocol for the adapter: it records every request (method, path, query,
 * body) and answers index, bulk, search and delete calls the way a 9.x node does, including the product header
 * the official client insists on.
 */

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly search: URLSearchParams;
  readonly body: string;
}

export interface FakeElasticsearch {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Alias → index name and the body it was created with. */
  readonly indices: Map<string, { index: string; body: unknown }>;
  /** _id → the document last indexed under it. */
  readonly documents: Map<string, { index: string; document: Record<string, unknown> }>;
  /** Refuse connections (the node is down). */
  down: boolean;
  /** Per-document bulk status override, by _id (e.g. 429, 400). */
  itemStatus: Map<string, number>;
  /** What a search answers: ids in order and the total. */
  searchAnswer: (body: Record<string, unknown>) => { ids: number[]; total: number };
  /** Status for search requests (e.g. 400 to play a parse failure). */
  searchStatus: number;
  /** What `_cluster/health` answers; `hang` never answers. */
  clusterStatus: 'green' | 'yellow' | 'red' | 'hang';
  json(pathPrefix: string): Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startFakeElasticsearch(): Promise<FakeElasticsearch> {
  const requests: RecordedRequest[] = [];
  const indices = new Map<string, { index: string; body: unknown }>();
  const documents = new Map<string, { index: string; document: Record<string, unknown> }>();

  const server = http.createServer((req, res) => {
    if (fake.down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = Buffer.concat(chunks).toString('utf8');
      const method = req.method ?? 'GET';
      requests.push({ method, path: decodeURIComponent(url.pathname), search: url.searchParams, body });
      const reply = (status: number, payload?: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
        res.end(payload === undefined ? '' : JSON.stringify(payload));
      };
      const target = decodeURIComponent(url.pathname.slice(1));

      if (method === 'HEAD') return reply(indices.has(target) || [...indices.values()].some((i) => i.index === target) ? 200 : 404);
      if (method === 'PUT' && !target.includes('/')) {
        const parsed = JSON.parse(body) as { aliases?: Record<string, unknown> };
        for (const alias of Object.keys(parsed.aliases ?? {})) indices.set(alias, { index: target, body: parsed });
        return reply(200, { acknowledged: true, shards_acknowledged: true, index: target });
      }
      if (method === 'POST' && target === '_bulk') {
        const lines = body.split('\n').filter((line) => line !== '');
        const items: unknown[] = [];
        for (let i = 0; i < lines.length; i += 2) {
          const action = (JSON.parse(lines[i] as string) as { index: { _index: string; _id: string } }).index;
          const status = fake.itemStatus.get(action._id) ?? 201;
          if (status < 300) documents.set(action._id, { index: action._index, document: JSON.parse(lines[i + 1] as string) as Record<string, unknown> });
          items.push({
            index: {
              _index: action._index,
              _id: action._id,
              status,
              ...(status >= 300 ? { error: { type: status === 429 ? 'es_rejected_execution_exception' : 'document_parsing_exception', reason: 'refused by the fake' } } : {}),
            },
          });
        }
        return reply(200, { took: 1, errors: items.some((item) => (item as { index: { status: number } }).index.status >= 300), items });
      }
      if (method === 'POST' && target.endsWith('/_search')) {
        if (fake.searchStatus !== 200) {
          return reply(fake.searchStatus, { error: { type: 'search_phase_execution_exception', reason: 'Failed to parse query' }, status: fake.searchStatus });
        }
        const answer = fake.searchAnswer(JSON.parse(body) as Record<string, unknown>);
        return reply(200, {
          took: 1,
          timed_out: false,
          hits: { total: { value: answer.total, relation: 'eq' }, hits: answer.ids.map((id) => ({ _index: 'x', _id: String(id), _score: null, sort: [id] })) },
        });
      }
      if (method === 'GET' && target === '_cluster/health') {
        if (fake.clusterStatus === 'hang') return;
        return reply(200, { cluster_name: 'fake-cluster', status: fake.clusterStatus, timed_out: false, number_of_nodes: 1 });
      }
      if (method === 'POST' && target.endsWith('/_delete_by_query')) {
        const ids = ((JSON.parse(body) as { query?: { terms?: { log_id?: number[] } } }).query?.terms?.log_id ?? []).map(String);
        const aliases = target.slice(0, -'/_delete_by_query'.length).split(',');
        const targeted = new Set(aliases.map((alias) => indices.get(alias)?.index ?? alias));
        let deleted = 0;
        for (const id of ids) {
          const entry = documents.get(id);
          if (entry && (targeted.has(entry.index) || aliases.includes(entry.index))) {
            documents.delete(id);
            deleted++;
          }
        }
        return reply(200, { took: 1, timed_out: false, total: deleted, deleted, failures: [] });
      }
      if (method === 'GET' && !target.startsWith('_')) {
        // Names and aliases, comma-separated, `*` as a wildcard; missing ones skipped (ignore_unavailable).
        const wanted = target.split(',').map((name) => new RegExp(`^${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`));
        const names = new Set<string>();
        for (const [alias, entry] of indices) if (wanted.some((w) => w.test(alias) || w.test(entry.index))) names.add(entry.index);
        return reply(200, Object.fromEntries([...names].map((name) => [name, { aliases: {}, mappings: {}, settings: {} }])));
      }
      if (method === 'DELETE') {
        const names = new Set(target.split(','));
        for (const [alias, entry] of indices) if (names.has(entry.index)) indices.delete(alias);
        for (const [id, entry] of documents) if ([...indices.values()].every((i) => i.index !== entry.index)) documents.delete(id);
        return reply(200, { acknowledged: true });
      }
      return reply(404, { error: { type: 'not_found' } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeElasticsearch = {
    url: `http://127.0.0.1:${port}`,
    requests,
    indices,
    documents,
    down: false,
    itemStatus: new Map(),
    searchAnswer: () => ({ ids: [], total: 0 }),
    searchStatus: 200,
    clusterStatus: 'green',
    json: (pathPrefix) => requests.filter((r) => r.path.startsWith(pathPrefix) && r.body !== '').map((r) => JSON.parse(r.body) as Record<string, unknown>),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
