import t from 'tap';
import { CompileClient } from '../../policies/compile/client.js';
import { compilePolicyInline } from '../../policies/compile/compile.js';

const POLICY = `import { definePolicy } from 'switchyard/sdk';
export default definePolicy({ name: 'p', selectProvider({ candidates }) { return { order: candidates.map((c) => c.id) }; } });
`;

t.test('the compile worker stops when idle and starts again on the next compile', async (t) => {
  const client = new CompileClient(compilePolicyInline, 60_000, 200);
  t.teardown(() => client.close());
  const first = await client.compile(POLICY, 'p.ts');
  t.ok(first.ok, 'compiles');
  t.ok(client.warm, 'the worker stays up right after a compile');
  for (let i = 0; i < 100 && client.warm; i++) await new Promise((r) => setTimeout(r, 50));
  t.notOk(client.warm, 'stopped after idling');
  const again = await client.compile(POLICY, 'p.ts');
  t.ok(again.ok, 'a later compile starts a new worker');
  t.equal(again.ok && first.ok ? again.hash : null, first.ok ? first.hash : undefined, 'with the same result');
});
