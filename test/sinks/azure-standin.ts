import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAnswerGate } from './answer-gate.ts';

/*
 * Local stand-ins for Microsoft Entra ID's token endpoint (`/<tenant>/oauth2/v2.0/token`, client credentials) and
 * an Event Grid topic endpoint (`/api/events`). The token endpoint checks the form the way Entra does and issues
 * numbered tokens; the topic refuses any bearer token it did not issue, then answers with the scripted replies.
 */

export interface TokenRequest {
  readonly tenant: string;
  readonly form: Record<string, string>;
  readonly contentType: string | undefined;
}

export interface EventRequest {
  readonly url: URL;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface StandInReply {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

export interface AzureStandIn {
  readonly url: string;
  readonly tokenRequests: TokenRequest[];
  readonly events: EventRequest[];
  /** Replies of the token endpoint, before its normal behaviour. */
  replyToken(...replies: StandInReply[]): void;
  replyEvents(...replies: StandInReply[]): void;
  /** Tokens issued so far are no longer accepted. */
  revokeTokens(): void;
  /** Holds every event POST until `release()`. */
  hold(): void;
  release(): void;
  reset(): void;
  close(): Promise<void>;
}

export function startAzureStandIn(principal: { tenantId: string; clientId: string; clientSecret: string }, expiresIn = 3599): Promise<AzureStandIn> {
  const tokenRequests: TokenRequest[] = [];
  const events: EventRequest[] = [];
  const tokenReplies: StandInReply[] = [];
  const eventReplies: StandInReply[] = [];
  const valid = new Set<string>();
  let issued = 0;
  const gate = createAnswerGate();
  const send = (res: http.ServerResponse, reply: StandInReply) => res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(reply.body ?? '');

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const tokenPath = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
      if (req.method === 'POST' && tokenPath) {
        const form = Object.fromEntries(new URLSearchParams(body));
        tokenRequests.push({ tenant: decodeURIComponent(tokenPath[1] as string), form, contentType: req.headers['content-type'] });
        const scripted = tokenReplies.shift();
        if (scripted) return send(res, scripted);
        if (tokenPath[1] !== principal.tenantId) return send(res, { status: 400, body: JSON.stringify({ error: 'invalid_request', error_description: `AADSTS90002: Tenant '${tokenPath[1]}' not found.\r\nTrace ID: x` }) });
        if (form.grant_type !== 'client_credentials' || form.scope !== 'https://eventgrid.azure.net/.default') return send(res, { status: 400, body: JSON.stringify({ error: 'invalid_request' }) });
        if (form.client_id !== principal.clientId || form.client_secret !== principal.clientSecret) {
          return send(res, { status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.\r\nTrace ID: y' }) });
        }
        const token = `token-${++issued}`;
        valid.add(token);
        return send(res, { status: 200, body: JSON.stringify({ token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: token }) });
      }
      if (req.method === 'POST' && url.pathname === '/api/events') {
        events.push({ url, headers: req.headers, body });
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (bearer === undefined || !valid.has(bearer)) return send(res, { status: 401, body: '{"error":{"code":"Unauthorized","message":"The principal associated with the bearer token is not authorized."}}' });
        const answer = () => send(res, eventReplies.shift() ?? { status: 200 });
        gate.answer(answer);
        return undefined;
      }
      return send(res, { status: 404, body: '{"error":"no such route in the stand-in"}' });
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve({
        url: base,
        tokenRequests,
        events,
        replyToken: (...more) => tokenReplies.push(...more),
        replyEvents: (...more) => eventReplies.push(...more),
        revokeTokens: () => valid.clear(),
        hold: gate.hold,
        release: gate.release,
        reset: () => {
          issued = 0;
          valid.clear();
          tokenRequests.length = 0;
          events.length = 0;
          tokenReplies.length = 0;
          eventReplies.length = 0;
        },
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
