import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { autoRelocatePlugin } from '@mmsim/auto-relocate';
import { MMSIM_VERSION, logNonce, type Plugin } from '@mmsim/core';
import { relocateAnonPlugin } from '@mmsim/relocate-anon';
import { stableStringify } from '@mmsim/scenario';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { openRegularFile } from '../files.js';
import { LogFileWriter, warnPartial } from '../logwriter.js';
import { interruptEvents, interruption, watchSignals } from '../interrupt.js';

const POLICIES = ['stock', 'relocate', 'auto'] as const;

/**
 * sha256 of a regular file's bytes, read in blocks (a trace can be GBs), or '' for what
 * is not a regular file (refused by the replay). The log header names the trace by its
 * path only: this digest goes into its nonce, so that logs of two recordings replayed
 * at one path never take each other's chunks, and the same recording gives the same log.
 */
function fileDigest(path: string): string {
  // stat before open: opening a FIFO would wait for a writer
  if (!statSync(path).isFile()) return '';
  const fd = openSync(path, 'r');
  try {
    const h = createHash('sha256');
    const block = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, block, 0, block.length, null)) > 0; ) h.update(block.subarray(0, n));
    return h.digest('hex');
  } finally {
    closeSync(fd);
  }
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('trace')
    .description(
      'Replay an mmsim-trace/1 (from `mmsim record`) on the simulator at the recorded addresses and compare each mm, at its last task\'s exit and at the execve() that drops it, ' +
        '(every VMA\'s range and perms, present pages of anonymous VMAs) with the recording; a recorded SIGSEGV/SIGBUS must be a fault of the model too. ' +
        'Under relocate and auto, VMA boundaries are the policy\'s: what the program sees (mapped, perms, present pages at every address) is compared, boundary differences are listed as the policy\'s effect. ' +
        'Exit 0 agree, 1 disagree (the first difference is printed; --all: every one), 2 bad input.\n' +
        'Policies: stock replays as recorded; relocate adds MREMAP_RELOCATE_ANON to every mremap that moves; auto is @mmsim/auto-relocate ' +
        '(relocate whenever every folio is exclusive). Per process: VMAs, anon_vmas, AVCs at peak and at the end, moves, relocations, fallbacks by reason, folios rewritten.',
    )
    .argument('<file>', 'a trace written by `mmsim record`')
    .option('--policy <p>', `mremap policy: ${POLICIES.join(', ')}`, 'stock')
    .option('--json', 'print the mmsim-trace-report/1')
    .option('--all', 'print every difference (up to 1,000), not only the first')
    .option('--log <path>', 'write the replay\'s event log, streamed as it grows (the replay itself keeps only its last chunk: a trace of any length replays in bounded memory); for inspect, check, serve');
  examples(cmd, ['mmsim trace ls.trace', 'mmsim trace heap.trace --policy auto --json', 'mmsim trace heap.trace --policy relocate --log heap.mmlog && mmsim stats heap.mmlog']);
  cmd.action(async (file: string, o: { policy: string; json?: boolean; all?: boolean; log?: string }) => {
    if (!(POLICIES as readonly string[]).includes(o.policy)) throw new CliError(`--policy: "${o.policy}" is not one of ${POLICIES.join(', ')}`);
    const path = resolve(ctx.cwd, file);
    // a folder, /dev/zero or a FIFO is refused here: the replay would read it forever
    closeSync(openRegularFile(ctx, file, 'trace').fd);
    const rec = await import('@mmsim/record');
    const plugins: Plugin[] = [];
    if (o.policy === 'relocate') plugins.push(relocateAnonPlugin);
    if (o.policy === 'auto') plugins.push(autoRelocatePlugin);
    // the replay keeps only the open chunk of its log: --log streams it to the file as chunks seal
    const writer = o.log ? LogFileWriter.open(ctx, o.log) : null;
    const header = { mmsimVersion: MMSIM_VERSION, config: { trace: file, policy: o.policy }, seed: 0 };
    const nonce = writer ? logNonce(header, [fileDigest(path)]) : '';
    const signals = watchSignals();
    const stop = () => signals.reason() ?? writer?.failure();
    let result;
    try {
      result = await rec.replayTrace(path, {
        policy: o.policy as 'stock',
        plugins,
        onKernel: (k) => {
          writer?.attach(k.eng.log, { ...header, nonce });
          interruptEvents(k.eng, stop);
        },
        onProgress: ctx.progress ? (n) => ctx.warn(`  ${n} records`) : undefined,
      });
      writer?.commit();
    } catch (e) {
      const partial = writer?.abort();
      if (partial) warnPartial(ctx, file, partial, o.log!);
      if (e instanceof rec.TraceFormatError) throw new CliError(`invalid trace: ${e.message}`, EXIT.BAD_INPUT);
      throw interruption(e) ?? e;
    } finally {
      signals.dispose();
    }
    const { report } = result;
    if (o.json) ctx.print(stableStringify(report));
    else {
      ctx.print(`${file}: ${report.records} records (${report.faults} faults), ${report.events} simulator events, ${report.faultsPerSec} faults/s; policy ${report.policy}`);
      ctx.print(report.agree ? 'agree: every process\'s layout at exit matches the recording' : `DISAGREE: ${report.firstDifference}`);
      if (o.all) for (const d of report.differences.slice(1)) ctx.print(`DISAGREE: ${d}`);
      else if (report.differences.length > 1) ctx.print(`  (${report.differences.length - 1} more: --all lists them)`);
      for (const e of report.policyEffects) ctx.print(`policy effect: ${e}`);
      if (o.all) for (const d of report.sharingDifferences) ctx.print(`sharing (advisory): ${d}`);
      else if (report.sharingDifferences.length)
        ctx.print(`sharing (advisory): ${report.sharingDifferences.length} runs of pages whose frame is shared in one of the replay and pagemap only (--all lists them)`);
      ctx.print('pid      gen  vmas  anon_vmas  avcs   peak vmas/anon_vmas/avcs  moves  relocated  folios  fallbacks  command');
      for (const p of report.processes) {
        const fb = Object.entries(p.fallbacks).map(([k, v]) => `${k}:${v}`).join(' ') || '-';
        ctx.print(
          `${String(p.pid).padEnd(8)} ${String(p.generation ?? '').padStart(3)}  ${String(p.vmas).padStart(4)}  ${String(p.anonVmas).padStart(9)}  ${String(p.avcs).padStart(4)}   ${`${p.peakVmas}/${p.peakAnonVmas}/${p.peakAvcs}`.padStart(24)}  ${String(p.moves).padStart(5)}  ${String(p.relocated).padStart(9)}  ${String(p.foliosRewritten).padStart(6)}  ${fb.padEnd(9)}  ${p.command ?? '?'}`,
        );
      }
      const signals = report.processes.reduce((n, p) => n + (p.signals ?? 0), 0);
      if (signals) ctx.print(`signals: ${signals} SIGSEGV/SIGBUS the kernel delivered where the model faults too`);
      for (const [why, n] of Object.entries(report.unmodelled)) ctx.print(`not modelled: ${why}: ${n}`);
    }
    if (!report.agree) ctx.fail(EXIT.MISMATCH);
  });
}
