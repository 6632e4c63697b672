/**
 * The `serve` subcommand for the mmsim CLI: `mmsim serve LOG [--port N]`.
 * Wiring: `import { register as registerServe } from '@mmsim/debugger/cli-command';
 * registerServe(program);`
 */
import type { Command } from 'commander';
import { serveDebugger } from './server.js';

export function register(program: Command): Command {
  return program
    .command('serve')
    .description('open the time-travel debugger on a log, in the browser (serves on 127.0.0.1 only)')
    .argument('<log>', 'an .mmlog file')
    .option('-p, --port <n>', 'port to listen on (0: any free port)', '7411')
    .option('--salvage', 'show the valid prefix of a damaged log')
    .option('--compare <log>', 'a second log shown side by side at matching syscalls (e.g. stock vs MREMAP_RELOCATE_ANON)')
    .action(async (log: string, o: { port: string; salvage?: boolean; compare?: string }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port number: ${o.port}`);
      process.stderr.write('mmsim serve: preparing the debugger app...\n');
      const srv = await serveDebugger({ logPath: log, port, host: '127.0.0.1', salvage: !!o.salvage, comparePath: o.compare });
      process.stdout.write(`mmsim debugger on ${srv.url} (Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void srv.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
