import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { reportToParent } from './report-to-parent.ts';

/*
 * Bench receiver, in its own process so its CPU is not the sidecar's: answers every webhook after DELAY_MS and
 * reports each arrival (order id from the payload, wall-clock time) to the parent in batches over IPC.
 */

const delayMs = Number(process.env.DELAY_MS ?? 0);
const arrived = reportToParent('arrivals');

const idPattern = /"entity_id":(\d+)/;
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    arrived(Number(idPattern.exec(body)?.[1] ?? -1));
    const reply = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 });
      res.end('{"ok":true}');
    };
    if (delayMs > 0) setTimeout(reply, delayMs);
    else reply();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
