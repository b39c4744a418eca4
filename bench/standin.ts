import { startMagentoStandin } from '../examples/magento-standin/server.ts';
import { reportToParent } from './report-to-parent.ts';

// The Magento REST stand-in in its own process, so the bench's Magento does not share the sidecar's CPU. It reports
// when each order's callback arrived, as the receiver reports arrivals: the latency part splits publish → delivery
// at the callback.
const calledBack = reportToParent('callbacks');
const orderId = /\/V1\/orders\/(\d+)/;
const standin = await startMagentoStandin({
  token: process.env.MAGENTO_TOKEN ?? 'bench',
  onRequest: (request) => {
    const id = orderId.exec(request.url)?.[1];
    if (id !== undefined) calledBack(Number(id));
  },
});
process.send?.({ url: standin.url });
