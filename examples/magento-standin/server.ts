import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { packagePath } from '../../src/package-root.ts';

/*
 * A stand-in for Magento's REST API, for the demo (`npm start`), tests and benchmarks: it answers the routes the
 * example events call back into (the `etc/webapi.xml` files of `examples/magento`) with canned responses written the way
 * Magento writes them (PHP json_encode: `\/` and `\uXXXX` escapes), so the real callback code path runs without
 * a Magento install. `{{id}}` and `{{increment}}` in the response files take the requested id.
 */

// The package's copy: the same whether this runs from examples/ or compiled into dist/examples/.
const responsesDir = packagePath('examples', 'magento-standin', 'responses');

const routes: { pattern: RegExp; file: string }[] = [
  { pattern: /^\/V1\/orders\/([^/]+)$/, file: 'order.json' },
  { pattern: /^\/V1\/invoices\/([^/]+)$/, file: 'invoice.json' },
  { pattern: /^\/V1\/shipment\/([^/]+)$/, file: 'shipment.json' },
  { pattern: /^\/V1\/customers\/([^/]+)$/, file: 'customer.json' },
  { pattern: /^\/V1\/products\/([^/]+)$/, file: 'product.json' },
];

export interface StandinRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
}

/** A fault the stand-in plays instead of answering (tests of Magento outages): an HTTP status, or a reset connection. */
export type StandinFault = { readonly status: number } | 'reset';

export interface MagentoStandin {
  readonly url: string;
  readonly requests: StandinRequest[];
  /** Milliseconds every answer waits (benchmarks of a slow Magento). */
  delayMs: number;
  /** While set, every request gets this fault instead of its answer (maintenance mode, a crashed PHP-FPM…). */
  fault: StandinFault | undefined;
  /** The integration token accepted; changing it plays a rotated or revoked token. */
  token: string | undefined;
  close(): Promise<void>;
}

export interface StandinOptions {
  readonly port?: number;
  readonly token?: string;
  readonly delayMs?: number;
  /** Called as each request arrives, before it is answered (the bench times the sidecar's callbacks with it). */
  readonly onRequest?: (request: StandinRequest) => void;
}

export async function startMagentoStandin(options: StandinOptions = {}): Promise<MagentoStandin> {
  const templates = new Map(routes.map((r) => [r.file, readFileSync(path.join(responsesDir, r.file), 'utf8').trim()]));
  const loginTemplate = readFileSync(path.join(responsesDir, 'login-activity.json'), 'utf8').trim();
  const requests: StandinRequest[] = [];

  const answer = (res: http.ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://standin');
    const request = { method: req.method ?? 'GET', url: url.pathname + url.search, authorization: req.headers.authorization };
    requests.push(request);
    options.onRequest?.(request);
    const respond = () => {
      const fault = standin.fault;
      if (fault === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault !== undefined) {
        answer(res, fault.status, JSON.stringify({ message: fault.status === 503 ? 'Service Unavailable: maintenance mode' : `scripted HTTP ${fault.status}` }));
        return;
      }
      if (standin.token !== undefined && req.headers.authorization !== `Bearer ${standin.token}`) {
        answer(res, 401, JSON.stringify({ message: "The consumer isn't authorized to access %resources.", parameters: { resources: 'Magento_Sales::actions_view' } }));
        return;
      }
      const match = /^\/rest\/([a-z0-9_]+)(\/V1\/.*)$/.exec(url.pathname) ?? /^\/rest(\/V1\/.*)$/.exec(url.pathname);
      const routePath = match ? (match[2] ?? match[1] ?? '') : '';
      if (routePath === '/V1/store/storeViews') {
        answer(res, 200, '[{"id":0,"code":"admin","name":"Admin","website_id":0,"store_group_id":0,"is_active":1},{"id":1,"code":"default","name":"Default Store View","website_id":1,"store_group_id":1,"is_active":1},{"id":2,"code":"fr","name":"French Store View","website_id":1,"store_group_id":1,"is_active":1}]');
        return;
      }
      if (routePath.startsWith('/V1/async-events/')) {
        // Routes the generated bridge adds for services without one: arguments arrive as query parameters.
        const id = url.searchParams.get('customerId') ?? url.searchParams.get('customer_id') ?? '0';
        answer(res, 200, fill(loginTemplate, id));
        return;
      }
      for (const route of routes) {
        const found = route.pattern.exec(routePath);
        if (found) {
          const id = decodeURIComponent(found[1] ?? '');
          if (id === 'missing') {
            answer(res, 404, JSON.stringify({ message: 'The entity that was requested doesn\'t exist. Verify the entity and try again.' }));
            return;
          }
          answer(res, 200, fill(templates.get(route.file) ?? '{}', id));
          return;
        }
      }
      answer(res, 404, JSON.stringify({ message: `Request does not match any route.`, parameters: [] }));
    };
    if (standin.delayMs > 0) setTimeout(respond, standin.delayMs);
    else respond();
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const standin: MagentoStandin = {
    url: `http://127.0.0.1:${port}`,
    requests,
    delayMs: options.delayMs ?? 0,
    fault: undefined,
    token: options.token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return standin;
}

function fill(template: string, id: string): string {
  // Numeric ids stand bare in the JSON (entity_id), other ids (SKUs) only inside strings.
  const numeric = /^\d+$/.test(id);
  const text = numeric ? id : JSON.stringify(id).slice(1, -1);
  return template.replaceAll('{{id}}', text).replaceAll('{{increment}}', (numeric ? id : '0').padStart(9, '0'));
}
