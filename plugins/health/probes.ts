import { request } from 'undici';
import type { PluginApi, Target } from '../../sdk/plugin.js';

/**
 * Active probes: for each provider with `probe:` in config, GET base_url + probe.path every
 * interval_ms; the result counts for every target on that provider. Off unless configured.
 */
export function startProbes(api: PluginApi<unknown>, record: (t: Target, ok: boolean, ms: number) => void): () => void {
  const timers: NodeJS.Timeout[] = [];
  const byProvider = new Map<string, Target[]>();
  for (const r of api.routes().values()) for (const t of r.targets) byProvider.set(t.provider.id, [...(byProvider.get(t.provider.id) ?? []), t]);
  for (const [id, targets] of byProvider) {
    const provider = targets[0].provider;
    const probe = provider.config.probe;
    if (!probe) continue;
    const url = provider.config.base_url.replace(/\/+$/, '') + probe.path;
    const tick = async () => {
      const t0 = performance.now();
      let ok = false;
      try {
        const res = await request(url, { method: 'GET', headers: provider.headers, dispatcher: provider.pool, signal: AbortSignal.timeout(probe.timeout_ms) });
        await res.body.dump();
        ok = res.statusCode < 500 && res.statusCode !== 429;
      } catch {
        ok = false;
      }
      const ms = performance.now() - t0;
      for (const t of targets) record(t, ok, ms);
      if (!ok) api.log.warn({ provider: id }, 'health probe failed');
    };
    const timer = setInterval(() => void tick(), probe.interval_ms);
    timer.unref();
    timers.push(timer);
  }
  return () => timers.forEach(clearInterval);
}
