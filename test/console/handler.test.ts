import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, createConsoleHandler, DEFAULT_PUBLIC_DIR } from '../../src/console/handler.ts';

/* The console's static files over a real HTTP server: types, caching, CSP, the SPA fallback, and what it leaves alone. */

let server: http.Server;
let base: string;
const passedOn: string[] = [];

beforeAll(async () => {
  const handler = createConsoleHandler();
  server = http.createServer((req, res) => {
    if (handler(req, res)) return;
    passedOn.push(req.url ?? '');
    res.writeHead(418, { 'content-type': 'text/plain' });
    res.end('not the console');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('console handler', () => {
  it('serves index.html at /, /console and /console/ with a strict CSP and no-cache + ETag', async () => {
    const index = readFileSync(path.join(DEFAULT_PUBLIC_DIR, 'index.html'), 'utf8');
    for (const url of ['/', '/console', '/console/']) {
      const res = await fetch(base + url, { redirect: 'manual' });
      expect(res.status, url).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(await res.text()).toBe(index);
    }
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
  });

  it('serves scripts, styles and the icon with their content types', async () => {
    const cases: [string, string][] = [
      ['/console/js/main.js', 'text/javascript; charset=utf-8'],
      ['/console/js/pages/log.js', 'text/javascript; charset=utf-8'],
      ['/console/console.css', 'text/css; charset=utf-8'],
      ['/console/favicon.svg', 'image/svg+xml'],
    ];
    for (const [url, type] of cases) {
      const res = await fetch(base + url);
      expect(res.status, url).toBe(200);
      expect(res.headers.get('content-type')).toBe(type);
      const file = path.join(DEFAULT_PUBLIC_DIR, url.slice('/console/'.length));
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(file))).toBe(true);
    }
  });

  it('answers a matching If-None-Match with 304 and no body, and a stale one with the file', async () => {
    const first = await fetch(`${base}/console/js/api.js`);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).not.toBe('');
    const again = await fetch(`${base}/console/js/api.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const weak = await fetch(`${base}/console/js/api.js`, { headers: { 'if-none-match': `"other", W/${etag}` } });
    expect(weak.status).toBe(304);
    const stale = await fetch(`${base}/console/js/api.js`, { headers: { 'if-none-match': '"stale"' } });
    expect(stale.status).toBe(200);
    expect((await stale.text()).length).toBeGreaterThan(100);
  });

  it('serves index.html for unknown page paths under /console (the browser routes), 404 for missing files', async () => {
    const page = await fetch(`${base}/console/log/some/deep/page`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const missing = await fetch(`${base}/console/js/nope.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await missing.text()).toContain('/console/js/nope.js');
    // Dot segments are resolved by the URL parser (and land outside /console); encoded slashes stay a file name.
    for (const url of ['/console/%2e%2e/handler.ts', '/console/js/..%2f..%2fhandler.ts']) {
      const traversal = await fetch(base + url);
      expect(traversal.status, url).not.toBe(200);
      expect(await traversal.text()).not.toContain('createConsoleHandler');
    }
  });

  it('answers HEAD without a body and refuses other methods with 405', async () => {
    const head = await fetch(`${base}/console/console.css`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(statSync(path.join(DEFAULT_PUBLIC_DIR, 'console.css')).size);
    const post = await fetch(`${base}/console/`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('leaves the API, GraphQL, metrics and other paths to the next handler', async () => {
    passedOn.length = 0;
    for (const url of ['/rest/V1/async_events', '/graphql', '/metrics', '/healthz', '/favicon.ico', '/consoles', '/console/rest/V1/x', '/console/graphql']) {
      const res = await fetch(base + url);
      expect(res.status, url).toBe(418);
    }
    expect(passedOn).toHaveLength(8);
  });

  it('keeps every page under 200 KB of script and uses no inline script or style', () => {
    const files = filesUnder(DEFAULT_PUBLIC_DIR);
    const scriptBytes = files.filter((f) => f.endsWith('.js')).reduce((n, f) => n + statSync(f).size, 0);
    expect(scriptBytes).toBeGreaterThan(10_000);
    expect(scriptBytes).toBeLessThan(200 * 1024);
    const html = readFileSync(path.join(DEFAULT_PUBLIC_DIR, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/\son[a-z]+=/);
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      expect(readFileSync(file, 'utf8'), file).not.toMatch(/\.innerHTML\s*=|insertAdjacentHTML|eval\(|new Function\(/);
    }
  });

  it('preloads every script module index.html does not load directly, and each preload names a served file', async () => {
    const html = readFileSync(path.join(DEFAULT_PUBLIC_DIR, 'index.html'), 'utf8');
    const preloads = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1] ?? '');
    const modules = filesUnder(DEFAULT_PUBLIC_DIR)
      .filter((f) => f.endsWith('.js'))
      .map((f) => `/console/${path.relative(DEFAULT_PUBLIC_DIR, f).split(path.sep).join('/')}`)
      .filter((f) => f !== '/console/js/main.js');
    expect(preloads.sort()).toEqual(modules.sort());
    for (const href of preloads) expect((await fetch(base + href)).status, href).toBe(200);
  });

  it('serves only known file types from a custom folder and says which folder is wrong', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-console-'));
    try {
      expect(() => createConsoleHandler({ publicDir: path.join(dir, 'missing') })).toThrow(/is not a folder/);
      expect(() => createConsoleHandler({ publicDir: dir })).toThrow(/index\.html is missing/);
      writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>x</title>');
      writeFileSync(path.join(dir, 'secret.env'), 'TOKEN=1');
      mkdirSync(path.join(dir, 'js'));
      writeFileSync(path.join(dir, 'js', 'a.js'), 'export {}');
      const handler = createConsoleHandler({ publicDir: dir });
      const calls: { status: number; headers: Record<string, unknown> }[] = [];
      const fakeRes = () => {
        const res = {
          headers: {} as Record<string, unknown>,
          setHeader(name: string, value: unknown) {
            res.headers[name] = value;
          },
          writeHead(status: number, headers?: Record<string, unknown>) {
            calls.push({ status, headers: { ...res.headers, ...headers } });
          },
          end() {},
        };
        return res;
      };
      const req = (url: string) => ({ url, method: 'GET', headers: {}, resume() {} });
      expect(handler(req('/console/js/a.js') as never, fakeRes() as never)).toBe(true);
      expect(calls.at(-1)?.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(handler(req('/console/secret.env') as never, fakeRes() as never)).toBe(true);
      expect(calls.at(-1)?.status).toBe(404);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
