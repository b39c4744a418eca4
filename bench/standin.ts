import { startMagentoStandin } from '../examples/magento-standin/server.ts';

// The Magento REST stand-in in its own process, so the bench's Magento does not share the sidecar's CPU. It reports
// when each order's callback arrived (order id, wall-clock time) to the parent in batches over IPC, as the receiver
// reports arrivals: the latency part splits publish → delivery at the callback.
let callbacks: [number, number][] = [];
const orderId = /\/V1\/orders\/(\d+)/;
const standin = await startMagentoStandin({
  token: process.env.MAGENTO_TOKEN ?? 'bench',
  onRequest: (request) => {
    const id = orderId.exec(request.url)?.[1];
    if (id !== undefined) callbacks.push([Number(id), performance.timeOrigin + performance.now()]);
  },
});
setInterval(() => {
  if (callbacks.length > 0 && process.send) {
    process.send({ callbacks });
    callbacks = [];
  }
}, 20).unref();
process.send?.({ url: standin.url });
