import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseDuration } from '../../policies/capture/store.js';
import { exportCaptures, importJsonl } from '../../policies/replay/index.js';
import { Db } from '../store/db.js';
import { print, UsageError } from './target.js';

const dataDirOf = (o: { dataDir?: string }) => resolve(o.dataDir ?? process.env.SWITCHYARD_DATA_DIR ?? './.switchyard');

/** `switchyard captures export|import`: captured routing traffic as JSONL, one Capture a line. */
export function registerCaptures(program: Command): void {
  const captures = program.command('captures').description('move captured routing traffic between machines (JSONL)');

  captures
    .command('export')
    .option('--since <duration>', 'only captures from the last DURATION (e.g. 2h, 7d)')
    .option('--data-dir <dir>', 'data dir to read (default ./.switchyard)')
    .description('write captures to stdout, one JSON object a line (oldest first)')
    .action(async (o: { since?: string; dataDir?: string }) => {
      const dir = dataDirOf(o);
      if (!existsSync(dir)) throw new UsageError(`no data dir at ${dir}`);
      const since = o.since ? Date.now() - parseDuration(o.since) : 0;
      // `| head` closes the pipe early: stop quietly.
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') process.exit(0);
        throw err;
      });
      const db = await Db.open(dir);
      try {
        const n = await exportCaptures(db, since, async (chunk) => {
          if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
        });
        process.stderr.write(`exported ${n} captures from ${dir}\n`);
      } finally {
        await db.close();
      }
    });

  captures
    .command('import')
    .argument('<file>', 'a JSONL file written by `captures export`')
    .option('--data-dir <dir>', 'data dir to import into (default ./.switchyard)')
    .option('--json', 'print exactly one JSON object')
    .description('add captures from a JSONL file (captures already present are kept as they are)')
    .action(async (file: string, o: { dataDir?: string; json?: boolean }) => {
      if (!existsSync(file)) throw new UsageError(`no such file ${file}`);
      const dir = dataDirOf(o);
      const db = await Db.open(dir);
      try {
        const r = await importJsonl(db, file);
        print(o.json, { file, data_dir: dir, read: r.read, imported: r.imported, skipped: r.read - r.imported }, `imported ${r.imported} of ${r.read} captures into ${dir}${r.read > r.imported ? ` (${r.read - r.imported} already there)` : ''}`);
      } finally {
        await db.close();
      }
    });
}
