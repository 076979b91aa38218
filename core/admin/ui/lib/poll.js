import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/**
 * Run `load` now and every `everyMs` (0: once) while the tab is visible; `deps` restart it.
 * Returns { data, error, at, loading, refresh }.
 */
export function usePoll(load, everyMs, deps = []) {
  const [state, setState] = useState({ data: null, error: null, at: 0, loading: true });
  const loadRef = useRef(load);
  loadRef.current = load;
  const tickRef = useRef(() => {});

  useEffect(() => {
    let stopped = false;
    let timer = 0;
    const tick = async () => {
      clearTimeout(timer);
      if (!document.hidden || !state.at) {
        try {
          const data = await loadRef.current();
          if (!stopped) setState({ data, error: null, at: Date.now(), loading: false });
        } catch (error) {
          if (!stopped) setState((s) => ({ ...s, error, loading: false }));
        }
      }
      if (!stopped && everyMs > 0) timer = setTimeout(tick, everyMs);
    };
    tickRef.current = tick;
    setState((s) => ({ ...s, loading: true }));
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [everyMs, ...deps]);

  const refresh = useCallback(() => tickRef.current(), []);
  return { ...state, refresh };
}

/** The current time, re-rendered every `everyMs` (for "in 12 s" countdowns). */
export function useNow(everyMs = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}
