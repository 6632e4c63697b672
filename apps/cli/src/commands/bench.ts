import type { Command } from 'commander';
import type { BenchOptions, BenchResult, Clock } from '@mmsim/bench';
import { CliError, EXIT, examples, type CliContext } from '../context.js';
import { importOptional } from '../integrations.js';
import { intParser } from '../options.js';
import { workspaceOnly } from '../workspace-only.js';

interface BenchCliOptions {
  quick?: boolean;
  json?: boolean;
  out: string;
  sizes?: number[];
  events?: number;
  seeks?: number;
  naive?: number;
  reps?: number;
  clock: Clock;
  checkers: boolean;
  warmup: number;
  splitVmas?: number[];
  traceFaults?: number;
}

type BenchModule = typeof import('@mmsim/bench');

const positiveInt = (what: string) => intParser(what, { min: 1 });
const nonNegativeInt = (what: string) => intParser(what);

function sizeList(v: string): number[] {
  return v.split(',').map((x) => positiveInt('--sizes')(x.trim()));
}

function vmaCounts(v: string): number[] {
  const ns = v.split(',').map((x) => positiveInt('--split-vmas')(x.trim()));
  if (new Set(ns).size < 2 || ns.some((n) => n < 4)) throw new CliError(`--split-vmas needs two different VMA counts of at least 4, got "${v}"`, EXIT.BAD_INPUT);
  return ns;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('bench')
    .description(
      'Benchmark the simulator against the real kernel on this machine: write fault-in and ' +
        'MREMAP_RELOCATE_ANON vs mremap (ratios sim ÷ kernel), random seeks, replay speed, log bytes per event, memory; ' +
        'writes bench.json, sweep.json and sweep.svg (the size sweep) to --out',
    )
    .option('--quick', 'up to 256 MiB and a 1M-event log (under a minute); the full run goes to 1 GiB and 10M events')
    .option('--json', 'print the results as one JSON object on stdout')
    .option('--out <path>', 'output directory (or a FILE.json: the sweep files go beside it)', 'bench-out')
    .option('--sizes <list>', 'region sizes in MiB, comma-separated; the largest is the headline size', sizeList)
    .option('--events <n>', 'events the measured log grows to (default 1M quick, 10M full)', positiveInt('--events'))
    .option('--seeks <n>', 'random TimeTravel seeks (default 100 quick, 500 full)', positiveInt('--seeks'))
    .option('--naive <n>', 'prefix (events) the naive one-produce-per-event reducer replays (default 20k quick, 200k full)', positiveInt('--naive'))
    .option('--reps <n>', 'kernel runs per measurement, the best is kept', positiveInt('--reps'), 5)
    .option('--clock <clock>', 'clock of the ratios: cpu (process user+system time) or wall', 'cpu')
    .option('--no-checkers', 'run the simulator without the invariant checkers (the targets assume them on)')
    .option(
      '--warmup <mib>',
      'MiB of each of two throwaway sessions run before the timed phases in the same process, so they measure optimized code as the kernel side is a best of --reps (0: measure cold)',
      nonNegativeInt('--warmup'),
      32,
    )
    .option(
      '--split-vmas <list>',
      'VMA counts splitGrowth compares, comma-separated: µs per one-page mprotect split at the largest ÷ at the smallest (default 1024,32768)',
      vmaCounts,
    )
    .option('--trace-faults <n>', 'faults in the synthetic trace traceReplayFaultsPerSec replays through `mmsim trace` (default 1M; quick 200k)', positiveInt('--trace-faults'));
  examples(cmd, [
    'mmsim bench --quick',
    'mmsim bench --json --out bench-out/ | jq .faultInRatio',
    'mmsim bench --sizes 4,16 --events 100000 --json',
    'mmsim bench --quick --clock wall --out results/quick.json',
    'mmsim bench --quick --json | jq .splitGrowth',
    'mmsim bench --quick --trace-faults 1000000 --json | jq .traceReplayFaultsPerSec',
  ]);
  cmd.action(async (o: BenchCliOptions) => {
    if (o.clock !== 'cpu' && o.clock !== 'wall') throw new CliError(`--clock must be cpu or wall, got "${o.clock}"`, EXIT.BAD_INPUT);
    const r = await importOptional('@mmsim/bench');
    if ('missing' in r) throw workspaceOnly('bench', r.missing);
    const b = r.mod as unknown as BenchModule;
    const opts: BenchOptions = {
      quick: o.quick,
      sizes: o.sizes,
      events: o.events,
      seeks: o.seeks,
      naivePrefix: o.naive,
      reps: o.reps,
      clock: o.clock,
      checkers: o.checkers,
      warmupMiB: o.warmup,
      splitVmas: o.splitVmas,
      traceFaults: o.traceFaults,
    };
    const rep = b.stderrReporter(ctx.err, ctx.progress);
    let res: BenchResult;
    try {
      res = await b.runBench(opts, rep);
    } catch (e) {
      rep.finish();
      if (e instanceof b.HelperUnavailableError) throw new CliError(`cannot measure the kernel: ${e.message}`, EXIT.BAD_INPUT);
      throw e;
    }
    rep.finish();
    const paths = b.writeOutputs(res, o.out, ctx.cwd);
    if (o.json) {
      ctx.print(JSON.stringify(res));
      ctx.warn(`wrote ${paths.json}, ${paths.sweep}, ${paths.svg}`);
    } else {
      for (const line of b.formatReport(res)) ctx.print(line);
      ctx.print();
      ctx.print(`wrote ${paths.json}, ${paths.sweep}, ${paths.svg}`);
    }
  });
}
