import t from 'tap';
import { connect, type Socket } from 'node:net';
import { startFakeUpstream, chatCompletion, type Behaviour } from '../helpers/fake-upstream.js';
import { startGateway, routeOver, type TestGateway } from '../helpers/gateway.js';

/**
 * A stream the gateway holds whole before relaying it (here a JSON answer to a stream request,
 * replayed as events; a held content-filter refusal ends the same way) is known to be complete
 * before a byte of it is written. A client that leaves while it is being written, or is dropped
 * at the deadline for not reading, did not get it: the outcome says client aborted, as for a
 * streamed answer the client leaves mid-stream, not a completed stream.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A completion whose replay is far bigger than loopback socket buffers take from a client that
 * does not read (a few MiB): the replay repeats the completion's id in each of its frames, two a
 * choice, so ~24 MiB of events come from a ~130 KiB answer (under the 4 MiB JSON answer cap).
 */
const fatCompletion: Behaviour = (seen, res) => {
  const body = chatCompletion(String(seen.body?.model), 'whole');
  body.id = 'chatcmpl-' + 'x'.repeat(128 * 1024);
  body.choices = Array.from({ length: 96 }, (_, index) => ({ ...body.choices[0], index }));
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** A raw stream request; `onFirstData` runs when the first bytes of the answer arrive. */
function streamRequest(gw: TestGateway, onFirstData: (s: Socket) => void): Socket {
  const u = new URL(gw.url);
  const s = connect(Number(u.port), u.hostname);
  const json = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  s.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: ${u.host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
  s.once('data', () => onFirstData(s));
  s.on('error', () => {});
  return s;
}

/** The telemetry plugin's request log line (written at postResponse, from the request's Outcome). */
async function requestLine(gw: TestGateway): Promise<Record<string, unknown> | undefined> {
  for (let i = 0; i < 500; i++) {
    const line = gw.logs.find((l) => l.msg === 'request');
    if (line) return line;
    await sleep(20);
  }
  return undefined;
}

t.test('a client that leaves while a held stream is written is recorded as client aborted, not complete', async (t) => {
  const a = await startFakeUpstream(fatCompletion);
  const gw = await startGateway(routeOver([a.url]));
  const s = streamRequest(gw, (s) => s.destroy());
  t.teardown(async () => { s.destroy(); await gw.close(); await a.close(); });
  const line = await requestLine(gw);
  t.ok(line, 'the request was logged');
  t.match(line, { status: 200, stream: true, provider: 'p1', clientAborted: true });
  t.notOk(line?.interrupted, 'not an upstream failure after content');
});

t.test('a client dropped at the deadline for not reading a held stream is recorded as client aborted, not complete', async (t) => {
  const a = await startFakeUpstream(fatCompletion);
  const gw = await startGateway(routeOver([a.url], { deadline_ms: 1000 }));
  const s = streamRequest(gw, (s) => s.pause());
  t.teardown(async () => { s.destroy(); await gw.close(); await a.close(); });
  const line = await requestLine(gw);
  t.ok(line, 'the request was logged');
  t.match(line, { status: 200, stream: true, provider: 'p1', clientAborted: true });
  t.notOk(line?.interrupted, 'not an upstream failure after content');
});
