import { request } from 'undici';
import type { PluginApi, Target } from '../../sdk/plugin.js';

/** The current targets of each provider id. */
function targetsByProvider(api: PluginApi<unknown>): Map<string, Target[]> {
  const byProvider = new Map<string, Target[]>();
  for (const r of api.routes().values()) for (const t of r.targets) byProvider.set(t.provider.id, [...(byProvider.get(t.provider.id) ?? []), t]);
  return byProvider;
}

/**
 * Active probes: for each provider with `probe:` in config, GET base_url + probe.path every
 * interval_ms; the result counts for every target on that provider. Off unless configured.
 * Which providers are probed, and how often, is read at boot; what to call (URL, headers,
 * pool) is looked up on each tick, because a config publish replaces the providers and
 * closes the old pools: a probe through a closed pool fails forever.
 */
export function startProbes(api: PluginApi<unknown>, record: (t: Target, ok: boolean, ms: number) => void): () => void {
  const timers: NodeJS.Timeout[] = [];
  for (const [id, atBoot] of targetsByProvider(api)) {
    const bootProbe = atBoot[0].provider.config.probe;
    if (!bootProbe) continue;
    const tick = async () => {
      const targets = targetsByProvider(api).get(id);
      const provider = targets?.[0].provider;
      const probe = provider?.config.probe;
      if (!targets || !provider || !probe) return;
      const url = provider.config.base_url.replace(/\/+$/, '') + probe.path;
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
    const timer = setInterval(() => void tick(), bootProbe.interval_ms);
    timer.unref();
    timers.push(timer);
  }
  return () => timers.forEach(clearInterval);
}
