import t from 'tap';
import { parseConfig, ConfigError } from '../../core/config/load.js';

const good = `
providers:
  - { id: openai, kind: openai, base_url: https://api.openai.com/v1, api_key: \${OPENAI_API_KEY} }
routes:
  - model: workhorse
    targets: [{ provider: openai, model: gpt-4o-mini }]
`;

function issues(text: string, env: NodeJS.ProcessEnv = {}, name = 'c.yaml'): string[] {
  try {
    parseConfig(text, name, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

t.test('a valid YAML config loads with defaults and ${ENV} expanded', async (t) => {
  const { config, hash } = parseConfig(good, 'c.yaml', { OPENAI_API_KEY: 'sk-x' });
  t.equal(config.providers[0].api_key, 'sk-x');
  t.equal(config.server.port, 8080);
  t.equal(config.server.body_limit_mb, 32);
  t.equal(config.routes[0].strategy, 'ordered');
  t.equal(config.routes[0].retries, 1);
  t.match(hash, /^[0-9a-f]{64}$/);
});

t.test('an unset variable is an error naming the variable and the field', async (t) => {
  t.same(issues(good), ['providers[0].api_key: environment variable OPENAI_API_KEY is not set']);
  t.same(issues(good.replace('${OPENAI_API_KEY}', '${OPENAI_API_KEY:-none}')), [], 'defaults are allowed');
});

t.test('bad fields are errors naming the field path', async (t) => {
  const env = { OPENAI_API_KEY: 'k' };
  t.match(issues(good.replace('kind: openai', 'kind: gemini'), env), [/^providers\[0\]\.kind: /]);
  t.match(issues(good.replace('provider: openai', 'provider: nope'), env), [/^routes\[0\]\.targets\[0\]\.provider: unknown provider "nope"/]);
  t.match(issues(good + '    retries: -1\n', env), [/^routes\[0\]\.retries: /]);
  t.match(issues(good + 'servr: {}\n', env), [/servr/], 'unknown keys are typos, not silently ignored');
  t.match(issues('providers: [}', env), [/cannot parse/]);
  t.match(issues(good.replace('https://api.openai.com/v1', 'not a url'), env), [/^providers\[0\]\.base_url: /]);
});

t.test('JSON configs work too', async (t) => {
  const { config } = parseConfig(JSON.stringify({ providers: [{ id: 'a', kind: 'openai', base_url: 'http://127.0.0.1:1/v1' }], routes: [{ model: 'm', targets: [{ provider: 'a', model: 'x' }] }] }), 'c.json', {});
  t.equal(config.routes[0].targets[0].model, 'x');
});

t.test('a whole-value reference takes the variable\'s type', async (t) => {
  const { config } = parseConfig(good + 'server: { port: ${PORT} }\n', 'c.yaml', { OPENAI_API_KEY: 'k', PORT: '9090' });
  t.equal(config.server.port, 9090);
});
