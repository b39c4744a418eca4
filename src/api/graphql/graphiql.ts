import { createHash } from 'node:crypto';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';

/**
 * The GraphiQL page from npm (`@graphql-yoga/render-graphiql` inlines the IDE), so it works on a server without
 * internet and trusts no CDN with the admin token typed into it. Its one inline script is allowed by hash and
 * nothing else may run; it may talk to this origin only and be framed by no one. Monaco's editor injects style
 * elements at run time and starts its workers from blob: URLs, hence those two allowances.
 */
export function offlineGraphiql(): { render: (options?: GraphiQLOptions) => Promise<string>; plugin: Plugin } {
  let policy: string | undefined;
  return {
    async render(options) {
      // Imported when the page is first asked for: the inlined IDE is some 30 MB of heap a server need not hold.
      const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
      const html = renderGraphiQL(options);
      policy ??= policyFor(html);
      return html;
    },
    plugin: {
      onResponse({ response }) {
        if (policy !== undefined && response.headers.get('content-type')?.startsWith('text/html')) {
          response.headers.set('content-security-policy', policy);
        }
      },
    },
  };
}

export function policyFor(html: string): string {
  const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1] ?? '', 'utf8').digest('base64')}'`);
  return [
    "default-src 'none'",
    `script-src ${hashes.join(' ')}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    'worker-src blob:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
