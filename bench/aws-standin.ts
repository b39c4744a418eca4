import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * EventBridge and SQS wire stand-in for the batching bench, in its own process so its CPU is not the sink's: answers
 * the JSON protocol's PutEvents, SendMessage and SendMessageBatch (x-amz-target) with every entry accepted, after
 * DELAY_MS (a stand-in for the network between a shop and AWS). It checks only that a request is SigV4-signed; the
 * signatures themselves are verified in test/sinks. Counts of requests and entries go to the parent on request.
 */

const delayMs = Number(process.env.DELAY_MS ?? 0);
let requests = 0;
let entries = 0;

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

function answer(target: string, body: Record<string, unknown>): { status: number; body: unknown } {
  if (target === 'AWSEvents.PutEvents') {
    const sent = (body.Entries as unknown[] | undefined) ?? [];
    entries += sent.length;
    return { status: 200, body: { FailedEntryCount: 0, Entries: sent.map(() => ({ EventId: randomUUID() })) } };
  }
  if (target === 'AmazonSQS.SendMessage') {
    entries += 1;
    return { status: 200, body: { MessageId: randomUUID(), MD5OfMessageBody: md5(String(body.MessageBody)) } };
  }
  if (target === 'AmazonSQS.SendMessageBatch') {
    const sent = (body.Entries as { Id: string; MessageBody: string }[] | undefined) ?? [];
    entries += sent.length;
    return { status: 200, body: { Successful: sent.map((entry) => ({ Id: entry.Id, MessageId: randomUUID(), MD5OfMessageBody: md5(entry.MessageBody) })), Failed: [] } };
  }
  return { status: 400, body: { __type: 'UnknownOperationException', message: `the stand-in does not answer ${target}` } };
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    requests++;
    const target = String(req.headers['x-amz-target'] ?? '');
    const signed = String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 Credential=');
    const reply = signed
      ? answer(target, JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
      : { status: 403, body: { __type: 'MissingAuthenticationTokenException', message: 'not signed' } };
    const send = () => {
      res.writeHead(reply.status, { 'content-type': target.startsWith('AmazonSQS') ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(reply.body));
    };
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  });
});
server.keepAliveTimeout = 60_000;
process.on('message', (message: { counts?: boolean }) => {
  if (message.counts) process.send?.({ requests, entries });
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
