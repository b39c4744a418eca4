import { createConsoleHandler } from '../console/handler.ts';
import type { ApiDependencies } from './dependencies.ts';
import { createGraphqlHandler } from './graphql/index.ts';
import type { HttpServer } from './http-server.ts';

/**
 * Mounts GraphQL at /graphql and the web console at / on the one HTTP port. Returns what must run before the
 * server closes: open live feeds (SSE) are ended, or closing would wait for them.
 */
export function mountGraphqlAndConsole(deps: ApiDependencies, http: HttpServer): () => void {
  const graphql = createGraphqlHandler(deps);
  http.mount('/graphql', graphql);
  const console = createConsoleHandler();
  http.mount('/', (req, res) => {
    if (console(req, res)) return;
    const body = JSON.stringify({ message: 'Not found. The API lives under /rest/V1, GraphQL at /graphql, the console at /.' });
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  return () => graphql.close();
}
