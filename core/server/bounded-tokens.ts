import { createRequire } from 'node:module';

type CountTokens = (text: string, options?: { disallowedSpecial?: Set<string> }) => number;
/**
 * Special-token text in a prompt (`<|endoftext|>`) is counted as plain text: by default the
 * tokenizer throws on it, and this count is read where nothing catches (a stream's start).
 */
const PLAIN = { disallowedSpecial: new Set<string>() };
let countTokens: CountTokens | null = null;

/** Loaded on first use: a gateway that never counts tokens never pays for the BPE tables (~65 MiB). */
function tokenizer(): CountTokens {
  return (countTokens ??= (createRequire(import.meta.url)('gpt-tokenizer') as { countTokens: CountTokens }).countTokens);
}

/**
 * BPE token counting with bounded cost. The tokenizer's work grows much faster than
 * linearly with the length of a whitespace-free run: 100,000 × "x" takes ~12 s of CPU and
 * 4,000 random letters ~0.1 s, on the event loop. Any client can send such text, so runs of
 * 48+ non-space characters (base64, minified data, padding) are estimated at ~3 characters
 * per token instead of tokenized. Ordinary text is counted exactly as before.
 */
const LONG_RUN = /\S{48,}/g;

export function boundedCountTokens(text: string): number {
  let estimated = 0;
  const rest = text.replace(LONG_RUN, (run) => {
    estimated += Math.ceil(run.length / 3);
    return ' ';
  });
  return (rest.trim() ? tokenizer()(rest, PLAIN) : 0) + estimated;
}

/** Load the tokenizer now (at boot), so the first request does not pay for it. */
export function warmTokenizer(): void {
  tokenizer();
}
