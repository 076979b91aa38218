import type { Usage } from '../types.js';
import { openAIUsage } from './usage.js';

/**
 * What the gateway needs from a non-stream chat completion it passes through unchanged (its
 * usage, whether it was content-filtered), read from the bytes without parsing the whole body:
 * completions run to many kilobytes, and JSON.parse of all of them was a visible share of the
 * hot path. Inside JSON strings every quote is escaped, so an unescaped `"usage":` can only be
 * a key. Anything unusual returns null and the caller parses the whole body instead.
 */
export interface ScannedCompletion {
  usage: Usage | null;
  contentFiltered: boolean;
}

const CHOICES = Buffer.from('"choices"');
const USAGE = Buffer.from('"usage"');
const ERROR = Buffer.from('"error"');
const FILTER = Buffer.from('content_filter');

function skipWs(b: Buffer, i: number): number {
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  return i;
}

/** The index just past the JSON object starting at `start` ('{'), or -1. Strings are skipped whole. */
function objectEnd(b: Buffer, start: number): number {
  let depth = 0;
  for (let i = start; i < b.length; i++) {
    const c = b[i];
    if (c === 0x22) {
      for (i++; i < b.length && b[i] !== 0x22; i++) if (b[i] === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

export function scanCompletion(raw: Buffer): ScannedCompletion | null {
  // An object: `{` first and `}` last (a cut-off body fails here and is parsed, and refused, whole).
  const first = skipWs(raw, 0);
  let last = raw.length - 1;
  while (last > first && (raw[last] === 0x20 || raw[last] === 0x0a || raw[last] === 0x0d || raw[last] === 0x09)) last--;
  if (raw[first] !== 0x7b || raw[last] !== 0x7d) return null;
  // Rare shapes get the exact path: an error object, a content filter verdict (which choice?).
  if (raw.indexOf(ERROR) !== -1 || raw.indexOf(FILTER) !== -1) return null;
  const ch = raw.indexOf(CHOICES);
  if (ch === -1 || raw[skipWs(raw, skipWs(raw, ch + CHOICES.length) + 1)] !== 0x5b) return null;
  const u = raw.lastIndexOf(USAGE);
  if (u === -1) return { usage: null, contentFiltered: false };
  const colon = skipWs(raw, u + USAGE.length);
  if (raw[colon] !== 0x3a) return null;
  const start = skipWs(raw, colon + 1);
  if (raw[start] === 0x6e) return { usage: null, contentFiltered: false }; // "usage": null
  if (raw[start] !== 0x7b) return null;
  const end = objectEnd(raw, start);
  if (end === -1) return null;
  try {
    return { usage: openAIUsage(JSON.parse(raw.toString('utf8', start, end))), contentFiltered: false };
  } catch {
    return null;
  }
}
