#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { BindRefusedError } from '../access/bind.js';
import { RevisionError } from '../../policies/revisions/store.js';
import { startCommand } from './start.js';
import { registerPolicyCheck, registerRevisionCommands } from './revisions.js';
import { registerDryRun } from './dry-run.js';
import { registerCaptures } from './captures.js';

const program = new Command();
program.name('switchyard').description('A self-hosted, programmable LLM gateway.').showHelpAfterError();

program
  .command('start')
  .description('start the gateway')
  .option('-c, --config <file>', 'config file (YAML or JSON)', process.env.SWITCHYARD_CONFIG ?? './switchyard.yaml')
  .option('-p, --port <n>', 'listen port (overrides server.port)')
  .option('--host <host>', 'listen host (overrides server.host)')
  .option('--data-dir <dir>', 'data directory (SQLite store)', process.env.SWITCHYARD_DATA_DIR ?? './.switchyard')
  .option('--dev', 'development mode: publish changed policy/config files automatically')
  .option('--insecure', 'allow a non-loopback host with no client keys configured')
  .action(async (opts) => {
    await startCommand(opts);
  });

const config = program.command('config').description('check and manage gateway config');
config
  .command('check')
  .argument('[file]', 'config file', './switchyard.yaml')
  .option('--json', 'print one JSON object')
  .description('validate a config file (with ${ENV} expansion)')
  .action(async (file: string, opts: { json?: boolean }) => {
    const loaded = await loadConfigFile(file);
    const summary = { ok: true, file, hash: loaded.hash, providers: loaded.config.providers.length, routes: loaded.config.routes.map((r) => r.model) };
    process.stdout.write(opts.json ? JSON.stringify(summary) + '\n' : `${file}: ok (${summary.providers} providers, routes: ${summary.routes.join(', ')})\n`);
  });

registerRevisionCommands(config, 'config');

const policy = program.command('policy').description('check, publish, roll back and dry-run routing policies');
registerPolicyCheck(policy);
registerRevisionCommands(policy, 'policy');
registerDryRun(policy);
registerCaptures(program);

/** An operator's mistake (bad config or policy, unknown revision, refused bind): the message, no stack. */
const operatorError = (err: unknown): err is Error => err instanceof ConfigError || err instanceof BindRefusedError || err instanceof RevisionError;

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`switchyard: ${operatorError(err) ? err.message : (err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
