import { startMagentoStandin } from '../examples/magento-standin/server.ts';

// The Magento REST stand-in in its own process, so the bench's Magento does not share the sidecar's CPU.
const standin = await startMagentoStandin({ token: process.env.MAGENTO_TOKEN ?? 'bench' });
process.send?.({ url: standin.url });
