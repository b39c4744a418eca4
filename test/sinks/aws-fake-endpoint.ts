import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { freePort } from '../support/services.ts';
import { createAnswerGate } from './answer-gate.ts';

/*
 * A local stand-in for an AWS JSON-protocol endpoint (EventBridge, SQS) for the real SDK clients. It recomputes
 * every request's SigV4 signature from the raw request with node:crypto, following AWS's published algorithm
 * rather than the SDK's signer, so a request signed with the wrong key, secret, region or service, or whose body
 * changed after signing, is refused the way AWS refuses it. Signed requests get the scripted replies in order.
 */

export interface SigV4Request {
  readonly method: string;
  /** Path and query exactly as sent. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export type SigV4Check =
  | { readonly ok: true; readonly accessKeyId: string; readonly region: string; readonly service: string }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly message: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';

/** Checks a request's `Authorization: AWS4-HMAC-SHA256 …` header against the secrets known for each access key. */
export function verifySigV4(request: SigV4Request, secrets: ReadonlyMap<string, string>, expected: { region: string; service: string }): SigV4Check {
  const authorization = headerText(request.headers, 'authorization');
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(authorization ?? '');
  if (!match) return { ok: false, status: 400, code: 'IncompleteSignatureException', message: `unreadable Authorization header: ${authorization ?? 'none'}` };
  const [, accessKeyId, day, region, service, signedHeaderList, signature] = match as unknown as [string, string, string, string, string, string, string];
  const secret = secrets.get(accessKeyId);
  if (secret === undefined) return { ok: false, status: 400, code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  if (region !== expected.region || service !== expected.service) {
    return { ok: false, status: 403, code: 'InvalidSignatureException', message: `Credential should be scoped to ${expected.region}/${expected.service}, not ${region}/${service}` };
  }
  const amzDate = headerText(request.headers, 'x-amz-date') ?? '';
  if (!amzDate.startsWith(day)) return { ok: false, status: 403, code: 'InvalidSignatureException', message: `x-amz-date ${amzDate} is not of the credential day ${day}` };
  const signedHeaders = signedHeaderList.split(';');
  if (!signedHeaders.includes('host')) return { ok: false, status: 403, code: 'InvalidSignatureException', message: 'host is not signed' };

  const [path = '/', query = ''] = request.url.split('?', 2);
  const canonicalRequest = [
    request.method,
    path,
    canonicalQuery(query),
    signedHeaders.map((name) => `${name}:${(headerText(request.headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`).join(''),
    signedHeaderList,
    sha256Hex(request.body),
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${secret}`, day);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const computed = createHmac('sha256', key).update(stringToSign).digest('hex');
  if (!timingSafeEqual(Buffer.from(computed), Buffer.from(signature))) {
    return { ok: false, status: 403, code: 'InvalidSignatureException', message: 'The request signature we calculated does not match the signature you provided.' };
  }
  return { ok: true, accessKeyId, region, service };
}

function headerText(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  const encode = (text: string) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return query
    .split('&')
    .map((pair) => pair.split('=', 2).map((part) => encode(decodeURIComponent(part ?? ''))) as [string, string | undefined])
    .sort(([a, av], [b, bv]) => (a === b ? ((av ?? '') < (bv ?? '') ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v ?? ''}`)
    .join('&');
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export interface ReceivedAwsRequest {
  readonly accessKeyId: string;
  readonly target: string | undefined;
  readonly contentType: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export interface FakeAwsEndpoint {
  readonly url: string;
  /** Requests whose signature verified. */
  readonly received: ReceivedAwsRequest[];
  /** Requests refused for their signature, with AWS's error code. */
  readonly refused: { code: string; message: string }[];
  /** Queues replies for the next signed requests, in order; a function answers from the request. */
  reply(...replies: (Reply | ((request: ReceivedAwsRequest) => Reply))[]): void;
  /** Holds the answers to signed requests until `release()`. */
  hold(): void;
  release(): void;
  /** Forgets requests and unused replies. */
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeAwsEndpoint(options: { service: string; region: string; secrets: Record<string, string>; contentType: string }): Promise<FakeAwsEndpoint> {
  const secrets = new Map(Object.entries(options.secrets));
  const received: ReceivedAwsRequest[] = [];
  const refused: { code: string; message: string }[] = [];
  const replies: (Reply | ((request: ReceivedAwsRequest) => Reply))[] = [];
  const gate = createAnswerGate();
  const send = (res: http.ServerResponse, reply: Reply) => {
    res.writeHead(reply.status, { 'content-type': options.contentType, 'x-amzn-requestid': 'req-1', ...reply.headers }).end(JSON.stringify(reply.body));
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const check = verifySigV4({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body }, secrets, options);
      if (!check.ok) {
        refused.push({ code: check.code, message: check.message });
        send(res, { status: check.status, body: { __type: check.code, message: check.message } });
        return;
      }
      const request: ReceivedAwsRequest = {
        accessKeyId: check.accessKeyId,
        target: headerText(req.headers, 'x-amz-target'),
        contentType: headerText(req.headers, 'content-type'),
        headers: req.headers,
        body: JSON.parse(body.toString('utf8')) as Record<string, unknown>,
      };
      received.push(request);
      const next = replies.shift() ?? { status: 500, body: { __type: 'InternalException', message: 'the test scripted no reply for this request' } };
      const answer = () => send(res, typeof next === 'function' ? next(request) : next);
      gate.answer(answer);
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    refused,
    reply: (...more) => replies.push(...more),
    hold: gate.hold,
    release: gate.release,
    reset: () => {
      received.length = 0;
      refused.length = 0;
      replies.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
