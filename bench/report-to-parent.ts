/**
 * For the bench's child processes (receiver, Magento stand-in): records when each order id was seen, wall-clock
 * time, and sends the records to the parent in batches over IPC (`{ [key]: [id, at][] }`) every 20 ms.
 */
export function reportToParent(key: 'arrivals' | 'callbacks'): (id: number) => void {
  let pending: [number, number][] = [];
  setInterval(() => {
    if (pending.length > 0 && process.send) {
      process.send({ [key]: pending });
      pending = [];
    }
  }, 20).unref();
  return (id) => void pending.push([id, performance.timeOrigin + performance.now()]);
}
