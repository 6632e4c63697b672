import type { Command } from 'commander';
import { closeSync, existsSync, mkdtempSync, openSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { partialOf } from '../atomic.js';
import { runInWorker } from '../worker.js';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { readLog } from '../files.js';
import { intOption } from '../options.js';
import { InterruptedError } from '../interrupt.js';

/** `mmsim serve LOG`: the web time-travel debugger (apps/debugger), on 127.0.0.1 only. */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('serve')
    .description('Open the time-travel debugger on a log in the browser: timeline, VMAs, page tables, anon_vmas, locks (127.0.0.1 only)')
    .argument('<log>', 'an .mmlog file written by `mmsim run --log` or `mmsim demo`; with --live, a scenario or a trace to run')
    .argument('[run-options...]', 'with --live, after `--`: options of the run (e.g. -- --relocate-variant fixed, -- --policy auto)')
    .option('-p, --port <n>', 'port to listen on (0: any free port)', '7411')
    .option('--salvage', 'serve the valid prefix of a damaged log')
    .option('--compare <log>', 'a second log shown side by side at matching syscalls (e.g. the same scenario stock and with --relocate-variant)')
    .option(
      '--live',
      'run the scenario (mmsim run FILE --log LOG) or the trace (mmsim trace FILE --log LOG) now, in a worker thread, and serve its log as it grows: ' +
        'the page follows the run chunk by chunk (every 4096 events) while the cursor is at the end, and time-travels over what has arrived',
    )
    .option('--log <path>', 'with --live: where the run writes its log (default: a new temporary folder)');
  examples(cmd, [
    'mmsim demo && mmsim serve mmsim-demo.mmlog',
    'mmsim run s.json --log s.mmlog && mmsim serve s.mmlog --port 0',
    'mmsim run s.json --log stock.mmlog && mmsim run s.json --relocate-variant fixed --log reloc.mmlog && mmsim serve stock.mmlog --compare reloc.mmlog',
    'mmsim serve --live scenarios/hand/thp-mix.json --port 0 -- --relocate-variant fixed',
    'mmsim serve --live heap.trace --log heap.mmlog -- --policy auto',
  ]);
  cmd.action(async (file: string, runArgs: string[], o: { port: string; salvage?: boolean; compare?: string; live?: boolean; log?: string }) => {
    const port = intOption('--port', o.port, { max: 65535 });
    if (o.live) return serveLive(ctx, file, runArgs, port, o);
    if (o.log !== undefined) throw new CliError('--log names where a --live run writes its log: add --live, or serve the log itself (mmsim serve LOG)', EXIT.BAD_INPUT);
    if (runArgs.length) throw new CliError(`options of a run (${runArgs.join(' ')}) go with --live only`, EXIT.BAD_INPUT);
    // refuse a damaged log here, with the offset, rather than in the browser
    const { log, damage } = readLog(ctx, file, { salvage: o.salvage });
    if (o.compare) readLog(ctx, o.compare, { salvage: o.salvage });
    if (log.length === 0) {
      throw new CliError(`${file}: ${damage ? `salvaged to 0 events (damage at byte ${damage.offset}: ${damage.message})` : 'the log holds no events'}: nothing to debug`, EXIT.BAD_INPUT);
    }
    const mod = await debuggerModule();
    ctx.warn(`mmsim serve: ${log.length} events; preparing the debugger app...`);
    const srv = await listen(port, () => mod.serveDebugger({ logPath: resolve(ctx.cwd, file), port, host: '127.0.0.1', salvage: !!o.salvage, comparePath: o.compare ? resolve(ctx.cwd, o.compare) : undefined }));
    throw await servedUntilSignal(ctx, srv);
  });
}

type Server = Awaited<ReturnType<(typeof import('@mmsim/debugger'))['serveDebugger']>>;

async function debuggerModule(): Promise<typeof import('@mmsim/debugger')> {
  try {
    return await import('@mmsim/debugger');
  } catch (e) {
    throw new CliError(`mmsim serve needs the @mmsim/debugger package: ${(e as Error).message}`, EXIT.BAD_INPUT);
  }
}

/** Start the server, a port in use or forbidden said as a usage error. */
async function listen(port: number, start: () => Promise<Server>): Promise<Server> {
  try {
    return await start();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CliError(`--port ${port}: the port is in use on 127.0.0.1 (another mmsim serve?); choose another, or --port 0 for any free one`, EXIT.BAD_INPUT);
    if (code === 'EACCES') throw new CliError(`--port ${port}: not allowed to listen on this port (below 1024 needs privileges); choose another, or --port 0`, EXIT.BAD_INPUT);
    throw e;
  }
}

/** Say where the server is, and serve until a signal (its error: the exit code says which, 130, 143). */
async function servedUntilSignal(ctx: CliContext, srv: Server): Promise<InterruptedError> {
  // the real port (--port 0 picks one), written out now: stdout may be a pipe or a file
  ctx.print(`mmsim debugger on ${srv.url} (Ctrl-C to stop)`);
  ctx.flush();
  return new Promise<InterruptedError>((done) => {
    const stop = (sig: 'SIGINT' | 'SIGTERM') => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void srv.close().then(() => done(new InterruptedError(sig)));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Is `file` a trace of `mmsim record` (else: a scenario)? */
function isTrace(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    return /^\s*\{\s*"format"\s*:\s*"mmsim-trace\//.test(head.subarray(0, n).toString('utf8'));
  } finally {
    closeSync(fd);
  }
}

/**
 * `mmsim serve --live FILE`: the run (`mmsim run` of a scenario, `mmsim trace` of a
 * trace) goes in a worker thread as `run` would put it, writing its log chunk by chunk
 * to its partial file; this thread serves that file as it grows (the debugger's
 * LiveLog), then the finished log once it is renamed into place, until a signal.
 */
async function serveLive(ctx: CliContext, file: string, runArgs: string[], port: number, o: { salvage?: boolean; compare?: string; log?: string }): Promise<never> {
  if (o.salvage) throw new CliError('--salvage reads a damaged log: a --live run\'s log is read as it is written (its whole chunks only)', EXIT.BAD_INPUT);
  const path = resolve(ctx.cwd, file);
  if (!existsSync(path)) throw new CliError(`${file}: no such scenario or trace`, EXIT.BAD_INPUT);
  const command = isTrace(path) ? 'trace' : 'run';
  const target = o.log !== undefined ? resolve(ctx.cwd, o.log) : join(mkdtempSync(join(tmpdir(), 'mmsim-live-')), `${basename(file, extname(file))}.mmlog`);
  const argv = [command, file, '--log', target, ...runArgs];
  const label = `mmsim ${argv.join(' ')}`;
  const mod = await debuggerModule();
  let exitCode: number | undefined;
  /** the partial file the run writes (found once it exists; kept by a failed run) */
  let partial: string | null = null;
  const live = {
    current() {
      if (exitCode === undefined) {
        partial = partialOf(target) ?? partial;
        return { path: partial, done: false, label };
      }
      // finished: renamed onto the target; failed: the partial file stays
      return { path: partial && existsSync(partial) ? partial : target, done: true, label, exitCode };
    },
  };
  const srv = await listen(port, () => mod.serveDebugger({ logPath: target, live, port, host: '127.0.0.1', comparePath: o.compare ? resolve(ctx.cwd, o.compare) : undefined }));
  ctx.warn(`mmsim serve --live: ${label}; the page follows its log (${target})`);
  const served = servedUntilSignal(ctx, srv);
  // the bin script, as main.ts starts the long commands: the run's thread, this one's free to serve
  void runInWorker(new URL('../../bin/mmsim.mjs', import.meta.url), argv).then((code) => {
    exitCode = code;
    ctx.warn(`mmsim serve --live: the run ended (exit ${code}); serving its log until Ctrl-C`);
  });
  throw await served;
}
