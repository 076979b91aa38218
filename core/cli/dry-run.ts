import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { closeCompiler } from '../../policies/compile/compile.js';
import { parseDuration } from '../../policies/capture/store.js';
import { RevisionError, RevisionStore } from '../../policies/revisions/store.js';
import { baselineRef, countCaptures, dbSource, dryRun, DryRunError, jsonlSource, resolveDecider, storeLookup, type DeciderRef, type DryRunReport, type RevisionLookup } from '../../policies/replay/index.js';
import { Db } from '../store/db.js';
import { adminCall, commandTarget, print, type CommandTarget } from './target.js';

interface DryRunOpts {
  against?: string;
  captures?: string;
  since?: string;
  down: string[];
  json?: boolean;
  url?: string;
  dataDir?: string;
}

type Remote = Extract<CommandTarget, { kind: 'remote' }>;

/** How far back the publish guard looks. */
const GUARD_WINDOW = '24h';

/** A progress bar on stderr, only on a terminal and only once a run has lasted a moment. */
export class Progress {
  private readonly t0 = Date.now();
  private last = 0;
  private shown = false;
  private readonly enabled = !!process.stderr.isTTY && !process.env.CI;

  update = (done: number, total: number | null): void => {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.t0 < 400 || now - this.last < 100) return;
    this.last = now;
    this.shown = true;
    const width = 30;
    const frac = total ? Math.min(1, done / total) : 0;
    const bar = total ? '#'.repeat(Math.round(frac * width)).padEnd(width, '-') : '';
    const rate = Math.round(done / ((now - this.t0) / 1000));
    process.stderr.write(`\r\x1b[K${total ? `[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ` : ''}${done.toLocaleString('en-US')}${total ? `/${total.toLocaleString('en-US')}` : ''} captures  ${rate.toLocaleString('en-US')}/s`);
  };

  end(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
  }
}

/** FILE (an existing file), `active`, or a revision id / prefix. */
export async function candidateRef(arg: string): Promise<DeciderRef> {
  if (arg === 'active') return 'active';
  if (existsSync(arg) && statSync(arg).isFile()) return { source: await readFile(arg, 'utf8'), fileName: arg };
  if (/^[0-9a-f]{6,64}$/i.test(arg)) return { revision: arg };
  throw new DryRunError(`${arg}: no such policy file, and not a revision id (or "active")`);
}

function remoteLookup(t: Remote): RevisionLookup {
  return {
    get: (ref) => adminCall(t, 'GET', `/policies/revisions/${encodeURIComponent(ref)}`),
    activeId: async () => (await adminCall<{ active: string | null }>(t, 'GET', '/policies')).active,
  };
}

const sinceMs = (since: string | undefined) => {
  if (!since) return 0;
  try {
    return Date.now() - parseDuration(since);
  } catch (err) {
    throw new DryRunError((err as Error).message);
  }
};

const needsRevisions = (r: DeciderRef) => r === 'active' || (typeof r === 'object' && 'revision' in r);

/** The report, computed where the options say: a JSONL file, a gateway's admin API, or the data dir. */
async function runDryRun(candArg: string, o: DryRunOpts, progress: Progress): Promise<DryRunReport> {
  const cand = await candidateRef(candArg);
  const base = baselineRef(o.against);
  const since = sinceMs(o.since);
  const down = o.down;
  const t = commandTarget(o);

  if (o.captures) {
    const source = await jsonlSource(o.captures);
    let db: Db | null = null;
    try {
      let lookup: RevisionLookup | null = null;
      if (needsRevisions(cand) || needsRevisions(base)) {
        if (t.kind === 'remote') lookup = remoteLookup(t);
        else {
          if (!existsSync(t.dataDir)) throw new DryRunError(`no data dir at ${t.dataDir} to look revisions up in (give --data-dir or --url)`);
          db = await Db.open(t.dataDir);
          lookup = storeLookup(new RevisionStore(db));
        }
      }
      const candidate = await resolveDecider(cand, lookup, 'candidate');
      const baseline = await resolveDecider(base, lookup, 'baseline');
      return await dryRun({ captures: source, candidate, baseline, down, since, onProgress: progress.update });
    } finally {
      await db?.close();
    }
  }

  if (t.kind === 'remote') {
    const candidate = typeof cand === 'string' ? cand : 'source' in cand ? { source: cand.source, file_name: cand.fileName } : { revision: cand.revision };
    return adminCall<DryRunReport>(t, 'POST', '/policies/dry-run', { candidate, against: o.against ?? 'recorded', since: o.since, down });
  }

  if (!existsSync(t.dataDir)) throw new DryRunError(`no data dir at ${t.dataDir}: nothing captured there (give --data-dir, --url, or --captures FILE.jsonl)`);
  return withDb(t.dataDir, async (store, db) => {
    const lookup = storeLookup(store);
    const candidate = await resolveDecider(cand, lookup, 'candidate');
    const baseline = await resolveDecider(base, lookup, 'baseline');
    return dryRun({ captures: await dbSource(db, since), candidate, baseline, down, onProgress: progress.update });
  });
}

async function withDb<T>(dataDir: string, fn: (store: RevisionStore, db: Db) => Promise<T>): Promise<T> {
  const db = await Db.open(dataDir);
  try {
    return await fn(new RevisionStore(db), db);
  } finally {
    await db.close();
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const usd = (x: number) => {
  const a = Math.abs(x);
  return `${x < 0 ? '-' : ''}$${a.toFixed(a !== 0 && a < 1 ? 6 : 2)}`;
};
const signedUsd = (x: number) => (x > 0 ? `+${usd(x)}` : usd(x));
const num = (n: number) => n.toLocaleString('en-US');

/** The readable table of `policy dry-run`. */
export function renderReport(r: DryRunReport, labels: { candidate: string; baseline: string; captures: string; down: string[] }): string {
  const rows: string[] = [];
  rows.push(`dry-run: ${labels.candidate}  vs  ${labels.baseline}`);
  rows.push(`captures: ${labels.captures}${labels.down.length ? `   down: ${labels.down.join(', ')}` : ''}`);
  rows.push('');
  const line = (k: string, v: string) => rows.push(`${k.padEnd(20)}${v}`);
  line('total', num(r.total));
  line('decisions changed', `${num(r.changed)} of ${num(r.total)} (${pct(r.changed_share)})`);
  const providers = Object.keys(r.shift);
  if (providers.length) {
    const w = Math.max(18, ...providers.map((p) => p.length + 2));
    rows.push(`traffic share`);
    rows.push(`  ${'provider'.padEnd(w)}${'before'.padStart(8)}    ${'after'.padStart(8)}`);
    for (const p of providers) rows.push(`  ${p.padEnd(w)}${pct(r.shift[p]!.before).padStart(8)}  → ${pct(r.shift[p]!.after).padStart(8)}`);
  }
  const rel = r.cost.before_usd ? ` ${r.cost.delta_usd >= 0 ? '+' : ''}${((r.cost.delta_usd / r.cost.before_usd) * 100).toFixed(1)}%` : '';
  line('est. cost', `${usd(r.cost.before_usd)} → ${usd(r.cost.after_usd)}  (${signedUsd(r.cost.delta_usd)}${rel})`);
  line('policy errors', num(r.errors));
  line('policy timeouts', num(r.timeouts));
  line('decision time', `p50 ${num(r.decision_us.p50)} µs   p99 ${num(r.decision_us.p99)} µs`);
  if (r.errors || r.timeouts) rows.push(`\nwarning: the candidate failed on ${num(r.errors + r.timeouts)} capture(s); the gateway would serve those in the static route order`);
  return rows.join('\n');
}

/** One line for the publish guard (stderr). */
export function summaryLine(r: DryRunReport, window: string): string {
  return `dry-run on ${num(r.total)} captures from the last ${window}: ${num(r.changed)} decisions change (${pct(r.changed_share)}), est. cost ${usd(r.cost.before_usd)} → ${usd(r.cost.after_usd)} (${signedUsd(r.cost.delta_usd)}), ${num(r.errors)} errors, ${num(r.timeouts)} timeouts, decision p50 ${num(r.decision_us.p50)} µs p99 ${num(r.decision_us.p99)} µs`;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** `switchyard policy dry-run FILE|REV|active ...` */
export function registerDryRun(policy: Command): void {
  policy
    .command('dry-run')
    .argument('<candidate>', 'a policy FILE, a revision id or prefix, or "active"')
    .option('--against <baseline>', 'recorded (the decisions made at capture time) | active | REV', 'recorded')
    .option('--captures <file>', 'replay a JSONL file (from `captures export`) instead of the data dir')
    .option('--since <duration>', 'only captures from the last DURATION (e.g. 30m, 2h, 7d)')
    .option('--down <provider>', 'simulate PROVIDER down: its targets leave every plan (repeatable)', collect, [])
    .option('--json', 'print exactly the report object')
    .option('--url <url>', 'replay on a running gateway through its admin API (needs SWITCHYARD_ADMIN_TOKEN)')
    .option('--data-dir <dir>', 'replay the captures of this data dir (default ./.switchyard)')
    .description('replay captured traffic through a candidate policy and compare with a baseline (no provider calls)')
    .action(async (candArg: string, o: DryRunOpts) => {
      const progress = new Progress();
      let report: DryRunReport;
      // A failure (unknown revision, bad file, policy that does not compile) goes to main.ts: the
      // message on stderr, no stack for these operator errors, and with --json the one error object.
      try {
        report = await runDryRun(candArg, o, progress);
      } finally {
        progress.end();
        await closeCompiler();
      }
      if (o.json) return print(true, report, '');
      const t = commandTarget(o);
      const where = o.captures ?? (t.kind === 'remote' ? t.url : t.dataDir);
      print(false, null, renderReport(report, { candidate: candArg, baseline: o.against ?? 'recorded', captures: `${num(report.total)} from ${where}${o.since ? ` (last ${o.since})` : ''}`, down: o.down }));
    });
}

/**
 * Before `policy publish FILE`: dry-run the file on the last 24h of captures (the data dir's,
 * or the gateway's through --url) and print the summary on stderr. Returns why, when the
 * publish must not go ahead (`--require-dry-run-clean` and the policy errors or times out, or
 * the dry-run itself could not run); null when it may.
 */
export async function publishGuard(t: CommandTarget, source: string, file: string, requireClean: boolean): Promise<string | null> {
  const say = (s: string) => process.stderr.write(s + '\n');
  let report: DryRunReport | null = null;
  const progress = new Progress();
  try {
    if (t.kind === 'remote') {
      report = await adminCall<DryRunReport>(t, 'POST', '/policies/dry-run', { candidate: { source, file_name: file }, since: GUARD_WINDOW });
    } else if (existsSync(t.dataDir)) {
      report = await withDb(t.dataDir, async (_store, db) => {
        const since = Date.now() - parseDuration(GUARD_WINDOW);
        if ((await countCaptures(db, since)) === 0) return null;
        const candidate = await resolveDecider({ source, fileName: file }, null, 'candidate');
        return dryRun({ captures: await dbSource(db, since), candidate, onProgress: progress.update });
      });
    }
  } catch (err) {
    progress.end();
    // A policy that does not compile: publish reports its diagnostics itself.
    if (err instanceof RevisionError && !(err instanceof DryRunError) && err.status === 422) return null;
    const why = `dry-run failed: ${(err as Error).message.split('\n')[0]}`;
    say(why);
    if (requireClean) {
      say('refusing to publish: --require-dry-run-clean needs a dry-run that runs clean');
      return `refusing to publish: --require-dry-run-clean needs a dry-run that runs clean (${why})`;
    }
    return null;
  }
  progress.end();
  if (!report || report.total === 0) {
    say(`dry-run: no captures from the last ${GUARD_WINDOW} to replay; skipped`);
    return null;
  }
  say(summaryLine(report, GUARD_WINDOW));
  if (report.errors || report.timeouts) {
    const failed = `${file} errors on ${num(report.errors)} and times out on ${num(report.timeouts)} of ${num(report.total)} captures`;
    say(`warning: ${failed}; the gateway would serve those requests in the static route order`);
    if (requireClean) {
      say('refusing to publish (--require-dry-run-clean)');
      return `refusing to publish (--require-dry-run-clean): ${failed} from the last ${GUARD_WINDOW}`;
    }
  }
  return null;
}
