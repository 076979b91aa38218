import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Db } from '../../core/store/db.js';
import { startFakeUpstream, ok } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';

/** A provider key that looks like nothing in particular (not sk-…, not Bearer …). */
const PROVIDER_KEY = 'gsk_live_9fQ2mX7pLw3RkT8vZc1N';

t.test('captured bodies (capture.prompts) mask credential fields and every secret the gateway holds', async (t) => {
  const up = await startFakeUpstream(ok('fine'));
  const dataDir = mkdtempSync(join(tmpdir(), 'sy-capture-redact-'));
  const gw = await startGateway({
    providers: [{ id: 'p', kind: 'openai', base_url: up.url, api_key: PROVIDER_KEY }],
    routes: [{ model: 'm', targets: [{ provider: 'p', model: 'x' }] }],
    capture: { prompts: true },
  }, { dataDir });
  t.teardown(async () => { await gw.close(); await up.close(); });
  const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'x', maxRetries: 0 });
  await client.chat.completions.create({
    model: 'm',
    messages: [{ role: 'user', content: `why does ${PROVIDER_KEY} fail? PROMPT-CANARY` }],
    max_tokens: 5,
    // Extra fields an agent framework might pass along.
    metadata: { client_secret: 'cs-0123456789abcdef', refresh_token: 'rt-0123456789abcdef' },
  } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
  await gw.close(); // flushes the batched capture rows
  const db = await Db.open(dataDir);
  const rows = await db.all<{ bodies: string | null }>('SELECT bodies FROM captures');
  await db.close();
  t.equal(rows.length, 1);
  const text = rows[0]!.bodies ?? '';
  t.match(text, 'PROMPT-CANARY', 'the prompt is kept (capture.prompts)');
  t.notMatch(text, PROVIDER_KEY, 'a provider key pasted into a prompt is scrubbed');
  t.notMatch(text, 'cs-0123456789abcdef', 'client_secret is masked');
  t.notMatch(text, 'rt-0123456789abcdef', 'refresh_token is masked');
});
