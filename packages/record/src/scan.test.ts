/**
 * The replay's fast path (scanTrace: fault lines read without JSON.parse, a typed fault
 * batch; a log that keeps only its open chunk and streams the rest) against the ordinary
 * one (readTraceSync, every record a JSON-parsed array through Replayer.apply, the whole
 * log kept): the same events byte for byte, the same simulated layouts at every exit
 * snapshot, the same report. And the fast reader refuses what readTrace refuses.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeLogFile, streamLog, type LogStreamWriter } from '@mmsim/core';
import { getPte } from '@mmsim/linux';
import { Replayer, TraceFormatError, readTraceSync, replayTrace, scanTrace, writeSyntheticTrace, type ReplayOptions } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'mmsim-scan-test-'));
const trace = join(dir, 'synthetic.trace');
const written = writeSyntheticTrace(trace, { faults: 30_000, seed: 7 });
const H = { mmsimVersion: '0.1.0', config: {}, seed: 0 };

/** what each exit snapshot saw in the simulator: every VMA's range and flags, every present PTE */
function observer(out: string[]): ReplayOptions['onSnapshot'] {
  return (k, mm, snap) => {
    const parts = [`pid ${snap.pid}`];
    for (const id of k.mm(mm).vmas) {
      const v = k.vma(id);
      parts.push(`${v.start}-${v.end}:${v.flags}:${v.anonVma ? 'a' : '-'}`);
      if (!v.file) for (let vpn = v.start; vpn < v.end; vpn++) if (getPte(k, mm, vpn) > 0) parts.push(`${vpn}`);
    }
    out.push(parts.join(' '));
  };
}

describe('scanTrace + a streaming log (the replay of mmsim trace)', () => {
  it('replays a synthetic trace exactly as the ordinary path does', async () => {
    // ordinary: JSON-parsed records, the whole log kept
    const seenA: string[] = [];
    let rp: Replayer | null = null;
    for (const item of readTraceSync(trace)) {
      if ('header' in item) rp = new Replayer(item.header, { retainLog: true, onSnapshot: observer(seenA) });
      else rp!.apply(item.record, item.line);
    }
    const a = rp!;
    a.finish();
    // fast: what replayTrace does, its log streamed out as it seals
    const seenB: string[] = [];
    const parts: Uint8Array[] = [];
    let w: LogStreamWriter | null = null;
    const { report, replayer: b } = await replayTrace(trace, {
      onSnapshot: observer(seenB),
      onKernel: (k) => (w = streamLog(k.eng.log, H, (x) => parts.push(x.slice()))),
    });
    w!.finish();
    expect(report.agree).toBe(true);
    expect(report.faults).toBe(written.faults);
    expect(report.records).toBe(written.records);
    expect(a.faults).toBe(written.faults);
    expect(report.events).toBe(a.k.eng.log.length);
    expect(report.events).toBeGreaterThan(written.faults * 10);
    expect(Buffer.concat(parts).equals(Buffer.from(encodeLogFile(a.k.eng.log, H)))).toBe(true);
    expect(seenB.length).toBe(written.processes);
    expect(seenB).toEqual(seenA);
    expect(b.reports).toEqual(a.reports);
    expect(b.differences).toEqual(a.differences);
    expect(b.k.eng.state).toEqual(a.k.eng.state);
    // the fast path kept one chunk of its log: what needs the rest is refused
    expect(b.k.eng.log.retainedFrom).toBeGreaterThan(0);
    expect(() => encodeLogFile(b.k.eng.log, H)).toThrow(/the log discarded the events before \d+/);
  });

  it('reads fault lines in any JSON spelling, and refuses bad ones as readTrace does', () => {
    const head = readFileSync(trace, 'utf8').split('\n')[0];
    const lines = [head, '["exit",5]', '["f",5,4096,1]', '[ "f", 5, 4097, 0 ]', '["f",5,4.098e3,1]', '["f",5,0,0]', '["end",5]'];
    const file = join(dir, 'spellings.trace');
    writeFileSync(file, lines.join('\n'));
    const got: unknown[] = [];
    scanTrace(file, { header: () => {}, fault: (...f) => got.push(['f', ...f]), record: (r, l) => got.push([r, l]) });
    const want = [...readTraceSync(file)].filter((x) => 'record' in x).map((x) => (x.record[0] === 'f' ? [...x.record, x.line] : [x.record, x.line]));
    expect(got).toEqual(want);
    expect(got).toEqual([[['exit', 5], 2], ['f', 5, 4096, 1, 3], ['f', 5, 4097, 0, 4], ['f', 5, 4098, 1, 5], ['f', 5, 0, 0, 6]]);
    for (const [bad, msg] of [
      ['["f",0,4096,1]', /bad.trace:2 \(f.tid\): must be a positive tid/],
      ['["f",5,34359738368,1]', /bad.trace:2 \(f.vpn\): out of range/],
      ['["f",5,01,1]', /bad.trace:2: not JSON/],
      ['["f",5,4096]', /bad.trace:2: a f record has 3 fields/],
      ['["f",5,4096,1.5]', /bad.trace:2 \(f.flags\): must be an integer/],
      ['["f",5,12345678901234567,1]', /bad.trace:2 \(f.vpn\): (must be an integer|out of range)/],
      ['', /bad.trace:2: empty line/],
    ] as const) {
      const f = join(dir, 'bad.trace');
      writeFileSync(f, `${head}\n${bad}\n["exit",5]\n`);
      expect(() => scanTrace(f, { header: () => {}, fault: () => {}, record: () => {} })).toThrow(msg);
      expect(() => [...readTraceSync(f)]).toThrow(msg);
      expect(() => scanTrace(f, { header: () => {}, fault: () => {}, record: () => {} })).toThrow(TraceFormatError);
    }
    writeFileSync(join(dir, 'empty.trace'), '');
    expect(() => scanTrace(join(dir, 'empty.trace'), { header: () => {}, fault: () => {}, record: () => {} })).toThrow(/empty file: no header/);
  });
});

describe('a trace is complete only with its end record', () => {
  const lines = readFileSync(trace, 'utf8').trimEnd().split('\n');
  const none = { header: () => {}, fault: () => {}, record: () => {} };
  /** every reader refuses `text` with `msg` (a TraceFormatError naming file:line) */
  const refusedByAll = async (name: string, text: string, msg: RegExp) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    expect(() => scanTrace(f, none)).toThrow(msg);
    expect(() => [...readTraceSync(f)]).toThrow(msg);
    // one replay (it reads the whole trace before the end is known)
    const err = await replayTrace(f).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TraceFormatError);
    expect((err as Error).message).toMatch(msg);
  };

  it('the generator ends with ["end", records], the readers do not hand it on', () => {
    expect(lines[lines.length - 1]).toBe(`["end",${written.records}]`);
    expect(lines.length).toBe(written.records + 2);
    const kinds = [...readTraceSync(trace)].flatMap((x) => ('record' in x ? [x.record[0]] : []));
    expect(kinds).toHaveLength(written.records);
    expect(kinds).not.toContain('end');
  });

  it('a trace cut at a line boundary (half its records, no exit snapshots) is refused at the line its end should be', async () => {
    const half = lines.slice(0, Math.floor(lines.length / 2));
    const n = half.length - 1;
    await refusedByAll('cut.trace', half.join('\n') + '\n', new RegExp(`cut.trace:${half.length + 1}: the trace ends after ${n} records without its end record \\["end",${n}\\]: it was cut short`));
    // cut just before its end record: every snapshot is there, and it is refused all the same
    await refusedByAll('noend.trace', lines.slice(0, -1).join('\n'), new RegExp(`noend.trace:${lines.length}: the trace ends after ${written.records} records without its end record`));
  });

  it('refuses an end record that miscounts, a record after it, and kinds that are Object.prototype keys', async () => {
    const body = lines.slice(0, -1);
    await refusedByAll('miscount.trace', [...body, `["end",${written.records - 1}]`].join('\n'), new RegExp(`miscount.trace:${lines.length} \\(end.records\\): the end record says ${written.records - 1} records, the trace holds ${written.records}`));
    await refusedByAll('after.trace', [...lines, '["exit",5]'].join('\n'), new RegExp(`after.trace:${lines.length + 1}: a record after the end record \\(line ${lines.length}\\)`));
    for (const kind of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      await refusedByAll('kind.trace', [lines[0], `[${JSON.stringify(kind)},5]`, ...lines.slice(1)].join('\n'), new RegExp(`kind.trace:2: unknown record kind "${kind}"`));
    }
  });
});
