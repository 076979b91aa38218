/**
 * Compile worker entry: keeps one warm ts-morph project and answers compile requests, so the
 * gateway's event loop never waits on the type checker.
 */
import { parentPort } from 'node:worker_threads';
import type { WorkerReply, WorkerRequest } from './client.js';
import { compileSync } from './inline.js';

if (!parentPort) throw new Error('policies/compile/worker must be started as a worker thread');
const port = parentPort;

port.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { id: req.id, result: compileSync(req.source, req.fileName) };
  } catch (err) {
    reply = { id: req.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply);
});

// Sent once ts-morph has loaded: lets the client tell "cannot start here" from "crashed later".
port.postMessage({ ready: true } satisfies WorkerReply);
