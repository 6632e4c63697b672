/**
 * The command list. Each command lives in `./<name>.ts` and exports
 * `register(program, ctx)`; to add one (fuzz, bench, check, bisect, serve...), create
 * the file and add one import and one entry below. Order = order in `mmsim --help`.
 */
import type { RegisterCommand } from '../context.js';
import { register as bench } from './bench.js';
import { register as check } from './check.js';
import { register as demo } from './demo.js';
import { register as diff } from './diff.js';
import { register as events } from './events.js';
import { register as fuzz } from './fuzz.js';
import { register as exportCmd } from './export.js';
import { register as explore } from './explore.js';
import { register as merge } from './merge.js';
import { register as inspect } from './inspect.js';
import { register as oracle } from './oracle.js';
import { register as replay } from './replay.js';
import { register as record } from './record.js';
import { register as run } from './run.js';
import { register as serve } from './serve.js';
import { register as stats } from './stats.js';
import { register as trace } from './trace.js';
import { register as why } from './why.js';

export const COMMANDS: readonly RegisterCommand[] = [
  run,
  replay,
  events,
  inspect,
  why,
  stats,
  exportCmd,
  diff,
  oracle,
  explore,
  merge,
  fuzz,
  demo,
  serve,
  check,
  bench,
  record,
  trace,
];
