/** zkonnx command line. Exit codes: 0 ok, 1 proof invalid, 2 bad input or usage, 3 internal error. */
import yargs from 'yargs';
import { cleanupPending } from '../artifacts/io.ts';
import { releaseCurve } from '../curve.ts';
import { ZKONNX_VERSION } from '../version.ts';
import { globalOptions, reportError } from './common.ts';
import { benchCommand } from './bench.ts';
import { calldataCommand } from './calldata.ts';
import { ceremonyCommand } from './ceremony.ts';
import { commitModelCommand } from './commit-model.ts';
import { compileCommand } from './compile.ts';
import { exportCommand } from './export.ts';
import { inspectCommand } from './inspect.ts';
import { proveCommand } from './prove.ts';
import { runCommand } from './run.ts';
import { serveCommand } from './serve.ts';
import { setupCommand } from './setup.ts';
import { verifyCommand } from './verify.ts';
import { workerCommand } from './worker.ts';

/** Ctrl-C or a kill: remove temp files being written (the real artifacts are only ever renamed into place). */
function onInterrupt(signal: NodeJS.Signals): void {
  cleanupPending();
  process.stderr.write(`zkonnx: interrupted (${signal}); nothing half-written was left behind\n`);
  process.exit(130);
}

/**
 * Long-running commands (serve, worker) handle SIGINT/SIGTERM themselves, as a graceful shutdown (stop taking
 * work, finish what runs, exit 0): the default handler above, which exits at once, is not installed for them.
 */
const SELF_STOPPING_COMMANDS = new Set(['serve', 'worker']);

export async function main(argv: string[]): Promise<number> {
  const command = argv.find((a) => !a.startsWith('-'));
  if (!command || !SELF_STOPPING_COMMANDS.has(command)) {
    process.once('SIGINT', onInterrupt);
    process.once('SIGTERM', onInterrupt);
  }
  let failed: number | undefined;
  const parsedFlags = { json: argv.includes('--json'), verbose: argv.includes('--verbose') };
  try {
    await yargs(argv)
      .scriptName('zkonnx')
      .version(ZKONNX_VERSION)
      .options(globalOptions)
      .command(compileCommand)
      .command(setupCommand)
      .command(proveCommand)
      .command(verifyCommand)
      .command(inspectCommand)
      .command(commitModelCommand)
      .command(runCommand)
      .command(ceremonyCommand)
      .command(benchCommand)
      .command(exportCommand)
      .command(calldataCommand)
      .command(serveCommand)
      .command(workerCommand)
      .demandCommand(1, 'Give a command: compile, setup, prove, verify, inspect, run, commit-model, ceremony or bench; for on-chain verification, export or calldata; for a proving node, serve (and worker).')
      .strict()
      .fail((msg, err) => {
        if (err) throw err;
        const more = /Not enough non-option arguments/.test(msg) ? ' (a required argument is missing)' : '';
        throw Object.assign(new Error(`${msg}${more}`), { usage: true });
      })
      .help()
      .parseAsync();
  } catch (e) {
    if ((e as { usage?: boolean }).usage) {
      process.stderr.write(`zkonnx: ${(e as Error).message}\nRun 'zkonnx --help' for usage.\n`);
      if (parsedFlags.json) process.stdout.write(JSON.stringify({ error: { code: 'USAGE', message: (e as Error).message } }) + '\n');
      failed = 2;
    } else {
      failed = reportError(e, parsedFlags);
    }
  } finally {
    await releaseCurve();
  }
  return failed ?? (typeof process.exitCode === 'number' ? process.exitCode : 0);
}
