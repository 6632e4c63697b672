import type { Command } from 'commander';
import { resolve } from 'node:path';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { intOption } from '../options.js';
import { watchSignals } from '../interrupt.js';

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('record')
    .description(
      'Run a command and record its whole process tree as an mmsim-trace/1: every mmap/munmap/mremap/mprotect/madvise/brk with its result, ' +
        'fork/clone/exec/exit, every page fault on a user address (user or kernel mode), and each mm\'s /proc/PID/maps and present anonymous pages at exec, at its last task\'s exit, at the execve() that drops it (and every --snapshot-every seconds). ' +
        'Needs root, perf (Debian: linux-perf) and gcc. Not seen: pages filled without a fault other than MAP_POPULATE, MADV_POPULATE_*, O_DIRECT read/pread64, process_vm_*, vmsplice (which the replay models), O_DIRECT readv/preadv/io_submit, io_uring-registered buffers; private file copy-on-write pages (the page cache is not modelled).',
    )
    .argument('[cmd...]', 'the command and its arguments (after --)')
    .option('--pid <pid>', 'attach to this running process instead (a server): record until Ctrl-C or SIGTERM, then detach; the trace starts from its layout at attach and ends with its layout at detach')
    .option('-o, --output <file>', 'the trace file', 'mmsim.trace')
    .option('--buffer <pages>', "perf's per-CPU ring buffer in pages (a power of two)", '8192')
    .option('--quiet', "discard the command's stdout and stderr")
    .option('--snapshot-every <seconds>', 'also snapshot every mm every SECONDS (each task stopped for the read), so `mmsim trace` compares mid-run too')
    .addHelpText(
      'after',
      `
Exit codes:
  0  the command exited 0; the trace is written (--pid: detached by Ctrl-C or SIGTERM, or the process exited)
  1  the command exited non-zero (or was killed by a signal); the trace is written all the same
  2  cannot record here (not Linux, not root, no perf or gcc, no tracepoints, the command did not start) or a bad option
  74 the recording is incomplete (perf lost events: raise --buffer; perf script failed); no trace is written
  130, 143  interrupted by SIGINT or SIGTERM
`,
    );
  examples(cmd, [
    'mmsim record -o ls.trace -- ls -l /',
    'mmsim record -o py.trace -- python3 -c "b = bytearray(); [b.extend(bytes(65536)) for _ in range(64)]"',
    'mmsim record -o gcc.trace -- gcc -c hello.c && mmsim trace gcc.trace',
    'mmsim record --pid "$(pidof redis-server)" -o redis.trace   # Ctrl-C detaches',
  ]);
  cmd.action(async (argv: string[], o: { output: string; buffer: string; quiet?: boolean; snapshotEvery?: string; pid?: string }) => {
    const { record, recordPid, RecordIncompleteError, RecordUnavailableError } = await import('@mmsim/record');
    const pid = o.pid === undefined ? undefined : intOption('--pid', o.pid, { min: 1, max: 2 ** 22 });
    if ((pid === undefined) === (argv.length === 0)) throw new CliError(pid === undefined ? 'record: a command to run (after --) or --pid PID' : 'record: --pid and a command: one or the other');
    const out = resolve(ctx.cwd, o.output);
    const pages = intOption('--buffer', o.buffer, { min: 1, max: 2 ** 30 });
    if ((pages & (pages - 1)) !== 0) throw new CliError(`--buffer: ${o.buffer} is not a power of two`);
    const every = o.snapshotEvery === undefined ? undefined : Number(o.snapshotEvery);
    if (every !== undefined && !(every >= 0.01 && every <= 86400)) throw new CliError(`--snapshot-every: "${o.snapshotEvery}" is not a number of seconds from 0.01 to 86400`);
    // a signal ends the recorded command (Ctrl-C reaches it anyway, `kill` only mmsim) and
    // what was recorded until then is written; then the signal's exit code
    const signals = watchSignals();
    const abort = new AbortController();
    const poll = setInterval(() => signals.reason() && abort.abort(), 20);
    try {
      const ro = {
        mmapPages: pages,
        ...(every !== undefined ? { snapshotEvery: every } : {}),
        stdio: o.quiet ? ('ignore' as const) : ('inherit' as const),
        onProgress: ctx.progress ? (s: { lines: number; records: number }) => ctx.warn(`  ${s.lines} perf lines, ${s.records} records`) : undefined,
        signal: abort.signal,
      };
      if (pid !== undefined) {
        if (ctx.progress) ctx.warn(`recording process ${pid}: Ctrl-C or SIGTERM detaches`);
        const r = await recordPid(pid, out, ro);
        const how = signals.reason() ? `detached after ${signals.reason()!.signal}` : `process ${pid} exited (no snapshot at the end)`;
        ctx.warn(`${o.output}: ${r.stats.records} records (${r.stats.syscalls} mm syscalls, ${r.stats.faults} faults); ${how}`);
        return;
      }
      const r = await record(argv, out, ro);
      ctx.warn(`${o.output}: ${r.stats.records} records (${r.stats.syscalls} mm syscalls, ${r.stats.faults} faults); the command exited ${r.exitCode}`);
      const stopped = signals.reason();
      if (stopped) {
        ctx.warn(`${o.output}: recording stopped by ${stopped.signal}: the trace holds what ran until then`);
        throw stopped;
      }
      if (r.exitCode !== 0) ctx.fail(EXIT.MISMATCH);
    } catch (e) {
      if (e instanceof RecordUnavailableError) throw new CliError(`record: ${e.message}`, EXIT.BAD_INPUT);
      if (e instanceof RecordIncompleteError) throw new CliError(`record: ${o.output} not written: ${e.message}`, EXIT.IO);
      throw e;
    } finally {
      clearInterval(poll);
      signals.dispose();
    }
  });
}
