import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, register } from 'prom-client';
import { METRICS_REQUEST, METRICS_RESPONSE, type MetricsRequest, type MetricsResponse } from './cluster-protocol.js';

/** How long a worker waits for the primary's aggregate before the scrape fails. */
const AGGREGATE_TIMEOUT_MS = 5_000;

const pending = new Map<string, (response: MetricsResponse) => void>();

if (cluster.isWorker) {
  // Answers the primary's requests for this worker's metrics (prom-client's own protocol).
  new AggregatorRegistry();
  process.on('message', (message: MetricsResponse) => {
    if (message?.type === METRICS_RESPONSE) pending.get(message.id)?.(message);
  });
}

/**
 * The metrics text for a scrape. A worker of cluster mode asks the primary,
 * which sums the metrics of every worker: a scrape that lands on any worker
 * sees the whole instance, and counters never go backwards between scrapes.
 */
export async function scrapeMetrics(): Promise<string> {
  if (!cluster.isWorker || !process.send) return register.metrics();
  const id = randomUUID();
  const response = await new Promise<MetricsResponse>((resolve) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      resolve({ type: METRICS_RESPONSE, id, error: 'the primary process did not answer in time' });
    }, AGGREGATE_TIMEOUT_MS);
    pending.set(id, (message) => {
      clearTimeout(timer);
      pending.delete(id);
      resolve(message);
    });
    process.send!({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
  });
  if (response.metrics === undefined) throw new Error(`Cluster metrics unavailable: ${response.error}`);
  return response.metrics;
}

export const METRICS_CONTENT_TYPE = register.contentType;
