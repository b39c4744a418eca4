import http from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * Bench receiver, in its own process so its CPU is not the sidecar's: answers every webhook after DELAY_MS and
 * reports each arrival (order id from the payload, wall-clock time) to the parent in batches over IPC.
 */

const delayMs = Number(process.env.DELAY_MS ?? 0);
let pending: [number, number][] = [];
const flush = () => {
  if (pending.length > 0 && process.send) {
    process.send({ arrivals: pending });
    pending = [];
  }
};
setInterval(flush, 20).unref();

const idPattern = /"entity_id":(\d+)/;
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const at = performance.timeOrigin + performance.now();
    const id = Number(idPattern.exec(body)?.[1] ?? -1);
    pending.push([id, at]);
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
