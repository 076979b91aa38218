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
  private readonly decoder = new TextDecoder();

  constructor(private readonly maxEventBytes = 4 * 1024 * 1024) {}

  push(chunk: Uint8Array): SseEvent[] {
    let text = this.decoder.decode(chunk, { stream: true });
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
    const rest = this.buf + this.decoder.decode();
    this.buf = '';
    const ev = rest.trim() ? parseBlock(rest) : null;
    return ev ? [ev] : [];
  }
}

function parseBlock(block: string): SseEvent | null {
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
