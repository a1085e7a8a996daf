import cluster, { type Worker } from 'node:cluster';

/**
 * Cluster mode: a worker serving /api/metrics asks the primary for the sum of
 * every worker's metrics; the primary collects them with prom-client's
 * AggregatorRegistry, loaded only when the first scrape arrives so the
 * supervising process stays small otherwise.
 */
export const METRICS_REQUEST = 'event-api:metrics-request';
export const METRICS_RESPONSE = 'event-api:metrics-response';

export interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  id: string;
}

export interface MetricsResponse {
  type: typeof METRICS_RESPONSE;
  id: string;
  metrics?: string;
  error?: string;
}

/** In the primary: answers the workers' requests for the aggregate. */
export function serveClusterMetrics(): void {
  let aggregate: Promise<() => Promise<string>> | undefined;
  cluster.on('message', (worker: Worker, message: MetricsRequest) => {
    if (message?.type !== METRICS_REQUEST) return;
    aggregate ??= import('prom-client').then(({ AggregatorRegistry }) => {
      const registry = new AggregatorRegistry();
      return () => registry.clusterMetrics();
    });
    const answer = (response: Omit<MetricsResponse, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: METRICS_RESPONSE, id: message.id, ...response });
    };
    aggregate
      .then((collect) => collect())
      .then(
        (metrics) => answer({ metrics }),
        (error: Error) => answer({ error: error.message }),
      );
  });
}
