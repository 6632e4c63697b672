import type { Command } from 'commander';
import { resolve } from 'node:path';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { readLog } from '../files.js';
import { intOption } from '../options.js';
import { InterruptedError } from '../interrupt.js';

/** `mmsim serve LOG`: the web time-travel debugger (apps/debugger), on 127.0.0.1 only. */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('serve')
    .description('Open the time-travel debugger on a log in the browser: timeline, VMAs, page tables, anon_vmas, locks (127.0.0.1 only)')
    .argument('<log>', 'an .mmlog file written by `mmsim run --log` or `mmsim demo`')
    .option('-p, --port <n>', 'port to listen on (0: any free port)', '7411')
    .option('--salvage', 'serve the valid prefix of a damaged log')
    .option('--compare <log>', 'a second log shown side by side at matching syscalls (e.g. the same scenario stock and with --relocate-variant)');
  examples(cmd, [
    'mmsim demo && mmsim serve mmsim-demo.mmlog',
    'mmsim run s.json --log s.mmlog && mmsim serve s.mmlog --port 0',
    'mmsim run s.json --log stock.mmlog && mmsim run s.json --relocate-variant fixed --log reloc.mmlog && mmsim serve stock.mmlog --compare reloc.mmlog',
  ]);
  cmd.action(async (file: string, o: { port: string; salvage?: boolean; compare?: string }) => {
    const port = intOption('--port', o.port, { max: 65535 });
    // refuse a damaged log here, with the offset, rather than in the browser
    const { log, damage } = readLog(ctx, file, { salvage: o.salvage });
    if (o.compare) readLog(ctx, o.compare, { salvage: o.salvage });
    if (log.length === 0) {
      throw new CliError(`${file}: ${damage ? `salvaged to 0 events (damage at byte ${damage.offset}: ${damage.message})` : 'the log holds no events'}: nothing to debug`, EXIT.BAD_INPUT);
    }
    let mod: typeof import('@mmsim/debugger');
    try {
      mod = await import('@mmsim/debugger');
    } catch (e) {
      throw new CliError(`mmsim serve needs the @mmsim/debugger package: ${(e as Error).message}`, EXIT.BAD_INPUT);
    }
    ctx.warn(`mmsim serve: ${log.length} events; preparing the debugger app...`);
    let srv: Awaited<ReturnType<typeof mod.serveDebugger>>;
    try {
      srv = await mod.serveDebugger({ logPath: resolve(ctx.cwd, file), port, host: '127.0.0.1', salvage: !!o.salvage, comparePath: o.compare ? resolve(ctx.cwd, o.compare) : undefined });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new CliError(`--port ${port}: the port is in use on 127.0.0.1 (another mmsim serve?); choose another, or --port 0 for any free one`, EXIT.BAD_INPUT);
      if (code === 'EACCES') throw new CliError(`--port ${port}: not allowed to listen on this port (below 1024 needs privileges); choose another, or --port 0`, EXIT.BAD_INPUT);
      throw e;
    }
    // the real port (--port 0 picks one), written out now: stdout may be a pipe or a file
    ctx.print(`mmsim debugger on ${srv.url} (Ctrl-C to stop)`);
    ctx.flush();
    // stopped by a signal: the server closes, and the exit code says which signal (130, 143)
    throw await new Promise<InterruptedError>((done) => {
      const stop = (sig: 'SIGINT' | 'SIGTERM') => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void srv.close().then(() => done(new InterruptedError(sig)));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  });
}
