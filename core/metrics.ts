import { Registry, collectDefaultMetrics } from 'prom-client';

/** One Prometheus registry per gateway, served at GET /metrics; plugins add their metrics to it. */
export function createRegistry(): Registry {
  const r = new Registry();
  collectDefaultMetrics({ register: r, prefix: 'switchyard_process_' });
  return r;
}
