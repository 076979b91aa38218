import { StringDecoder } from 'node:string_decoder';
/** One server-sent event: its `event:` name (if any) and its joined `data:` lines. */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

/**
 * Incremental SSE splitter (WHATWG event-stream framing). Feed it upstream chunks; it
 * returns whole events. A pending event above `maxEventBytes` is an error, so a broken
 * upstream cannot make the gateway buffer without bound.
 */
export class SseParser {
  private buf = '';
  // StringDecoder: ~0.15 µs a small chunk against TextDecoder's ~0.35 (a frame is a chunk).
  private readonly decoder = new StringDecoder('utf8');
  private first = true;
  /** The last chunk ended in a CR: an LF opening the next one completes that CRLF. */
  private cr = false;

  constructor(private readonly maxEventBytes = 4 * 1024 * 1024) {}

  push(chunk: Uint8Array): SseEvent[] {
    let text = this.decoder.write(chunk as Buffer);
    if (this.first && text) {
      this.first = false;
      // The stream's leading byte-order mark is not data (WHATWG event-stream decoding).
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text) {
      if (this.cr && text.charCodeAt(0) === 10) text = text.slice(1);
      this.cr = text.charCodeAt(text.length - 1) === 13;
    }
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    this.buf += text;
    const events: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const end = this.buf.indexOf('\n\n', start);
      if (end === -1) break;
      const ev = parseBlock(this.buf.slice(start, end));
      if (ev) events.push(ev);
      start = end + 2;
    }
    this.buf = start ? this.buf.slice(start) : this.buf;
    if (this.buf.length > this.maxEventBytes) throw new Error('SSE event too large');
    return events;
  }

  /** Whatever is left at end of stream (an event not terminated by a blank line). */
  flush(): SseEvent[] {
    const rest = this.buf + this.decoder.end();
    this.buf = '';
    const ev = rest.trim() ? parseBlock(rest) : null;
    return ev ? [ev] : [];
  }
}

function parseBlock(block: string): SseEvent | null {
  // Most frames are one `data: …` line.
  if (block.startsWith('data: ') && !block.includes('\n')) return { event: undefined, data: block.slice(6) };
  let event: string | undefined;
  let data: string | undefined;
  for (const line of block.split('\n')) {
    if (line === '' || line.charCodeAt(0) === 58 /* ':' comment */) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') data = data === undefined ? value : data + '\n' + value;
    else if (field === 'event') event = value;
  }
  return data === undefined ? null : { event, data };
}

/**
 * An event's data as SSE lines: a data that spans lines (an upstream may split its JSON over
 * several `data:` lines) goes out as one `data:` line each, or the client would drop the rest.
 */
export function dataLines(data: string): string {
  return data.includes('\n') ? 'data: ' + data.replaceAll('\n', '\ndata: ') : 'data: ' + data;
}
