/**
 * Replay worker entry: one Replayer (its own sandboxes) per worker; the main thread only reads
 * pages and hands them out, so a dry-run uses every core and never blocks a gateway's event loop.
 */
import { parentPort } from 'node:worker_threads';
import { Replayer, type ReplayOptions } from './engine.js';
import { DryRunError, type ReplayPage, type ReplayPartial } from './types.js';

export type ToWorker = { type: 'init'; options: ReplayOptions } | { type: 'page'; page: ReplayPage } | { type: 'finish' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; consumed: number }
  | { type: 'partial'; partial: ReplayPartial }
  | { type: 'error'; message: string; status: number | null };

if (!parentPort) throw new Error('policies/replay/worker must be started as a worker thread');
const port = parentPort;
let replayer: Replayer | null = null;
/** Pages are replayed one after the other, in arrival order. */
let chain: Promise<void> = Promise.resolve();

const fail = (err: unknown) => {
  const status = err instanceof DryRunError ? err.status : null;
  port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err), status } satisfies FromWorker);
};

port.on('message', (msg: ToWorker) => {
  chain = chain.then(async () => {
    try {
      if (msg.type === 'init') {
        replayer = await Replayer.create(msg.options, false);
        port.postMessage({ type: 'ready' } satisfies FromWorker);
      } else if (msg.type === 'page') {
        const consumed = await replayer!.page(msg.page);
        port.postMessage({ type: 'done', consumed } satisfies FromWorker);
      } else {
        const partial = replayer!.partial();
        replayer!.dispose();
        replayer = null;
        port.postMessage({ type: 'partial', partial } satisfies FromWorker, [partial.us.buffer as ArrayBuffer]);
      }
    } catch (err) {
      fail(err);
    }
  });
});
