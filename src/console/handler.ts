import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { packagePath } from '../package-root.ts';

/*
 * The web console: hand-written ES modules, CSS and one HTML page, served as they are (no build step). Every file
 * is read once when the handler is made, so a request never touches the disk and the ETag is computed once.
 */

// Served from the package's src/ even when the code runs compiled from dist/: the files are not compiled.
export const DEFAULT_PUBLIC_DIR = packagePath('src', 'console', 'public');

/** Where the console's files are served from; `/` serves its index.html too (assets use absolute paths). */
export const CONSOLE_PREFIX = '/console';

/**
 * Nothing inline and nothing from elsewhere: scripts, styles and API calls come from this origin only, and no
 * page may frame the console (it holds an admin token).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

export interface ConsoleHandlerOptions {
  /** Folder holding index.html and the assets; default src/console/public. */
  readonly publicDir?: string;
}

/** True when it answered the request; false leaves the request to the next handler (REST, GraphQL, 404). */
export type ConsoleHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

function loadFiles(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(full);
        continue;
      }
      const type = CONTENT_TYPES[path.extname(entry.name).toLowerCase()];
      // Only known types leave: a stray editor backup or dotfile in the folder is never served.
      if (!entry.isFile() || type === undefined || entry.name.startsWith('.')) continue;
      const body = readFileSync(full);
      const hash = createHash('sha256').update(body).digest('base64url').slice(0, 27);
      const urlPath = `${CONSOLE_PREFIX}/${path.relative(root, full).split(path.sep).join('/')}`;
      files.set(urlPath, { body, contentType: type, etag: `"${hash}"` });
    }
  };
  walk(root);
  return files;
}

function securityHeaders(res: ServerResponse): void {
  res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

function sendFile(req: IncomingMessage, res: ServerResponse, file: StaticFile): void {
  securityHeaders(res);
  // Files keep their names across versions, so the browser always asks again; the ETag makes asking cheap.
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('etag', file.etag);
  if (etagMatches(req.headers['if-none-match'], file.etag)) {
    res.writeHead(304);
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.body.length });
  res.end(req.method === 'HEAD' ? undefined : file.body);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  securityHeaders(res);
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** `/console/...` paths that name an API rather than a page; never answered with index.html. */
function looksLikeApi(pathname: string): boolean {
  return /^\/console\/(?:rest|graphql|metrics|healthz|readyz)(?:\/|$)/.test(pathname);
}

/**
 * Serves `/` (the console's page) and everything under `/console`: its files with their content type,
 * ETag and a strict CSP, and index.html for any other page path there (the console routes in the browser).
 */
export function createConsoleHandler(options: ConsoleHandlerOptions = {}): ConsoleHandler {
  const root = options.publicDir ?? DEFAULT_PUBLIC_DIR;
  if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`console files not found: ${root} is not a folder`);
  }
  const files = loadFiles(root);
  const index = files.get(`${CONSOLE_PREFIX}/index.html`);
  if (!index) throw new Error(`console files not found: ${path.join(root, 'index.html')} is missing`);

  return (req, res) => {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      return false;
    }
    const isRoot = pathname === '/' || pathname === '/index.html';
    if (!isRoot && pathname !== CONSOLE_PREFIX && !pathname.startsWith(`${CONSOLE_PREFIX}/`)) return false;
    if (looksLikeApi(pathname)) return false;
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'The console only answers GET and HEAD.', { allow: 'GET, HEAD' });
      return true;
    }
    if (isRoot || pathname === CONSOLE_PREFIX) {
      sendFile(req, res, index);
      return true;
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      sendText(res, 400, 'The path is not valid percent-encoding.');
      return true;
    }
    const file = files.get(decoded);
    if (file) {
      sendFile(req, res, file);
      return true;
    }
    // A missing script or stylesheet must fail loudly, not arrive as HTML the browser refuses to run.
    if (path.posix.extname(decoded) !== '') {
      sendText(res, 404, `No console file ${decoded}.`);
      return true;
    }
    sendFile(req, res, index);
    return true;
  };
}
