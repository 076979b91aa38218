#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { BindRefusedError } from '../access/bind.js';
import { RevisionError } from '../../policies/revisions/store.js';
import { startCommand } from './start.js';
import { registerPolicyCheck, registerRevisionCommands } from './revisions.js';
import { registerDryRun } from './dry-run.js';
import { registerCaptures } from './captures.js';
import { printFailure, UsageError } from './target.js';

const program = new Command();
// exitOverride (inherited by every subcommand defined below): a usage error (missing argument,
// unknown option) rejects parseAsync instead of exiting, so a --json run still gets its object.
program.name('switchyard').description('A self-hosted, programmable LLM gateway.').showHelpAfterError().exitOverride();

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

/** An operator's mistake (bad config or policy, unknown revision, refused bind, missing file or token): the message, no stack. */
const operatorError = (err: unknown): err is Error => err instanceof ConfigError || err instanceof BindRefusedError || err instanceof RevisionError || err instanceof UsageError;

/** The command the arguments name (`policy publish x.ts` -> publish), to know whether it takes --json. */
function invoked(args: string[]): Command {
  let cmd = program;
  for (const a of args) {
    const sub = cmd.commands.find((c) => c.name() === a);
    if (!sub) break;
    cmd = sub;
  }
  return cmd;
}

program.parseAsync(process.argv).catch((err: unknown) => {
  const args = process.argv.slice(2);
  if (err instanceof CommanderError && err.exitCode === 0) process.exit(0); // --help
  // Commander has already printed a usage error (and the help) on stderr.
  if (!(err instanceof CommanderError)) process.stderr.write(`switchyard: ${operatorError(err) ? err.message : (err as Error)?.stack ?? String(err)}\n`);
  const code = err instanceof CommanderError ? err.exitCode : 1;
  const cmd = invoked(args);
  // A usage error can come before --json was parsed: then the argument list says whether it was asked for.
  const json = cmd.options.some((o) => o.long === '--json') && (cmd.opts().json === true || (err instanceof CommanderError && args.includes('--json')));
  // --json: a failure is still exactly one JSON object on stdout (DESIGN.md); exit once it is written.
  if (json) printFailure(err, {}, () => process.exit(code));
  else process.exit(code);
});
