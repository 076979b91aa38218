import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { closeCompiler } from '../../policies/compile/compile.js';
import { checkPolicy, checkConfig, diffRevisions, publishConfig, publishPolicy, rollback, type PublishResult } from '../../policies/lifecycle.js';
import type { RevisionSummary, Scope } from '../../policies/revisions/store.js';
import { DryRunError } from '../../policies/replay/types.js';
import { adminCall, commandTarget, print, printFailure, withStore } from './target.js';
import { publishGuard } from './dry-run.js';

interface Common {
  url?: string;
  dataDir?: string;
  json?: boolean;
  note?: string;
  requireDryRunClean?: boolean;
}

const short = (id: string | null) => (id ? id.slice(0, 12) : '(none)');
const who = () => process.env.SWITCHYARD_ACTOR ?? process.env.USER ?? 'cli';

function addTargetOptions(c: Command): Command {
  return c
    .option('--url <url>', 'act on a running gateway through its admin API (needs SWITCHYARD_ADMIN_TOKEN)')
    .option('--data-dir <dir>', 'act on this data dir (default ./.switchyard)')
    .option('--json', 'print exactly one JSON object');
}

function publishedText(scope: Scope, r: PublishResult): string {
  return r.changed ? `${scope} ${short(r.id)} is active (was ${short(r.from)})` : `${scope} ${short(r.id)} was already active: nothing changed`;
}

/** `switchyard policy|config publish|rollback|history|diff` — the same lifecycle for both scopes. */
export function registerRevisionCommands(parent: Command, scope: Scope): void {
  const api = scope === 'policy' ? '/policies' : '/config';

  const publish = addTargetOptions(parent.command('publish').argument('<file>').option('--note <text>', 'why (kept in the audit log)').description(`check and publish a ${scope} file as the active revision`));
  if (scope === 'policy') publish.option('--require-dry-run-clean', 'refuse to publish a policy that errors or times out on the last 24h of captures');
  publish.action(async (file: string, o: Common) => {
    const source = await readFile(file, 'utf8');
    const t = commandTarget(o);
    // Policies: dry-run on recent captures first, summary on stderr (policies/replay).
    const refusal = scope === 'policy' ? await publishGuard(t, source, file, !!o.requireDryRunClean) : null;
    if (refusal) {
      // Already explained on stderr; --json still owes stdout its one object (409, as the admin API's refusal).
      if (o.json) printFailure(new DryRunError(refusal, 409));
      process.exitCode = 1;
      return;
    }
    // Remote: the raw source, ${ENV} unexpanded: the gateway expands it with its own environment
    // and validates (its refusal reaches the user); checking here would use the CLI's environment.
    const r = t.kind === 'remote'
      ? await adminCall<PublishResult>(t, 'POST', `${api}/publish`, { source, file_name: file, note: o.note, author: who() })
      : await withStore(t.dataDir, (s) => (scope === 'policy' ? publishPolicy(s, source, file, { actor: who(), note: o.note }) : publishConfig(s, source, file, { actor: who(), note: o.note })));
    print(o.json, r, publishedText(scope, r));
  });

  addTargetOptions(parent.command('rollback').argument('[rev]', 'revision id or prefix (default: the previously active one)').option('--note <text>', 'why')).description(`make an earlier ${scope} revision active again`).action(async (rev: string | undefined, o: Common) => {
    const t = commandTarget(o);
    const r = t.kind === 'remote' ? await adminCall<PublishResult>(t, 'POST', `${api}/rollback`, { revision: rev, note: o.note, author: who() }) : await withStore(t.dataDir, (s) => rollback(s, scope, rev, { actor: who(), note: o.note }));
    print(o.json, r, r.changed ? `${scope} rolled back: ${short(r.from)} -> ${r.id ? short(r.id) : '(no policy: static route order)'}` : 'nothing changed');
  });

  addTargetOptions(parent.command('history')).description(`list ${scope} revisions, the active one marked`).action(async (o: Common) => {
    const t = commandTarget(o);
    const r = t.kind === 'remote' ? await adminCall<{ revisions: RevisionSummary[] }>(t, 'GET', api) : { revisions: await withStore(t.dataDir, (s) => s.list(scope)) };
    const lines = r.revisions.map((v) => `${v.active ? '*' : ' '} ${short(v.id)}  ${new Date(v.created).toISOString()}  ${v.author ?? '-'}  ${v.name ?? ''}  ${v.note ?? ''}`);
    print(o.json, { active: r.revisions.find((v) => v.active)?.id ?? null, revisions: r.revisions }, lines.length ? lines.join('\n') : `no ${scope} revisions yet`);
  });

  addTargetOptions(parent.command('diff').argument('<a>').argument('<b>')).description(`unified diff between two ${scope} revisions`).action(async (a: string, b: string, o: Common) => {
    const t = commandTarget(o);
    const diff = t.kind === 'remote' ? (await adminCall<{ diff: string }>(t, 'GET', `${api}/diff?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`)).diff : await withStore(t.dataDir, (s) => diffRevisions(s, scope, a, b));
    print(o.json, { diff }, diff);
  });
}

/** `switchyard policy check FILE`: compile + type-check; diagnostics as file:line:col message. */
export function registerPolicyCheck(parent: Command): void {
  parent.command('check').argument('<file>').option('--json', 'print exactly one JSON object').description('compile and type-check a policy').action(async (file: string, o: { json?: boolean }) => {
    const source = await readFile(file, 'utf8');
    try {
      const r = await checkPolicy(source, file);
      print(o.json, { ok: true, file, revision: r.hash, name: r.name }, `${file}: ok (revision ${short(r.hash)}${r.name ? `, policy "${r.name}"` : ''})`);
    } catch (err) {
      if (o.json) printFailure(err, { file, problems: (err as Error).message.split('\n').slice(1) });
      else process.stderr.write((err as Error).message.split('\n').slice(1).join('\n') + '\n');
      process.exitCode = 1;
    } finally {
      await closeCompiler();
    }
  });
}

export { checkConfig };
