import type { Entry } from '../providers/types.js';

/**
 * What a request needs from a target, read from its body in any entry protocol:
 * - tools: a non-empty `tools` list;
 * - vision: an image part (chat `image_url`, Anthropic `image` blocks also inside tool results,
 *   Responses `input_image`);
 * - json_schema: chat `response_format.type: json_schema`, Responses `text.format.type:
 *   json_schema`, Anthropic `output_config.format.type` (or the beta's `output_format.type`) json_schema;
 * - reasoning: chat `reasoning_effort`, Responses `reasoning`, Anthropic `thinking` enabled.
 * Targets declare theirs (`capabilities`, default all); the static plan skips a target lacking one.
 */
export type Capability = 'tools' | 'vision' | 'json_schema' | 'reasoning';

const IMAGE_PARTS = new Set(['image_url', 'image', 'input_image']);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An image part anywhere in a content list (one level of nesting: tool results hold blocks). */
function hasImage(content: unknown, depth = 0): boolean {
  if (!Array.isArray(content)) return false;
  for (const p of content) {
    if (!isObj(p)) continue;
    if (typeof p.type === 'string' && IMAGE_PARTS.has(p.type)) return true;
    if (depth === 0 && Array.isArray(p.content) && hasImage(p.content, 1)) return true;
    if (depth === 0 && Array.isArray(p.output) && hasImage(p.output, 1)) return true;
  }
  return false;
}

export function requiredCapabilities(entry: Entry, body: Record<string, unknown>): Capability[] {
  if (entry === 'openai.embeddings') return [];
  const needs: Capability[] = [];
  if (Array.isArray(body.tools) && body.tools.length > 0) needs.push('tools');

  const items = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : [];
  for (const m of items) {
    if (isObj(m) && (hasImage(m.content) || hasImage(m.output))) {
      needs.push('vision');
      break;
    }
  }

  const rf = body.response_format;
  const text = body.text;
  // Anthropic: `output_config.format` (GA), or the beta's top-level `output_format`.
  const oc = body.output_config;
  const of = isObj(oc) && isObj(oc.format) ? oc.format : body.output_format;
  if ((isObj(rf) && rf.type === 'json_schema') || (isObj(text) && isObj(text.format) && text.format.type === 'json_schema') || (isObj(of) && of.type === 'json_schema')) {
    needs.push('json_schema');
  }

  const thinking = body.thinking;
  if (body.reasoning_effort != null || body.reasoning != null || (isObj(thinking) && thinking.type !== 'disabled')) {
    needs.push('reasoning');
  }
  return needs;
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * Fields of a Responses request that point at state the upstream's own Responses API keeps: a
 * stored response (`previous_response_id`), a conversation, a stored prompt template (`prompt`),
 * stored items referenced from `input` (`item_reference`, or an item that is only an `id`).
 * A bridge to chat completions or Messages has nothing to resolve them against: dropped, the
 * model answers without that history or those instructions, with a 200. Returned as the
 * request's field names; the static plan keeps only targets whose exchange has `responsesState`.
 * `store` is not here: storing for later is not needed to answer this request, and the bridged
 * Response says `store: false`.
 */
export function serverStateFields(entry: Entry, body: Record<string, unknown>): readonly string[] {
  // Every other entry, on every request: nothing to allocate.
  if (entry !== 'openai.responses') return NONE;
  const fields: string[] = [];
  const set = (v: unknown) => v != null && v !== '' && !(isObj(v) && Object.keys(v).length === 0);
  if (set(body.previous_response_id)) fields.push('previous_response_id');
  if (set(body.conversation)) fields.push('conversation');
  if (set(body.prompt)) fields.push('prompt');
  if (Array.isArray(body.input) && body.input.some((i) => isObj(i) && (i.type === 'item_reference' || (i.type == null && typeof i.id === 'string' && i.role === undefined && i.content === undefined)))) {
    fields.push('input');
  }
  return fields;
}
