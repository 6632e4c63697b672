/**
 * 64-bit syscall arguments in mmsim-trace/1: what the recorder writes for a value no
 * double holds (a decimal string) reads back as the same bigint, through both readers;
 * values a number holds stay numbers, spelled as before.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TraceFormatError, parseRecordLine, readTraceSync, recordLine, scanTrace, type TraceRecord } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'mmsim-u64-test-'));
const MAX = 2n ** 64n - 1n;

describe('64-bit arguments in a trace', () => {
  it('a bigint is written as a decimal string and read back exactly; numbers stay numbers', () => {
    const r: TraceRecord = ['mremap', 7, 0x7f0000000000, 4096, 4096, 3, MAX, -22];
    const line = recordLine(r);
    expect(line).toBe('["mremap",7,139637976727552,4096,4096,3,"18446744073709551615",-22]');
    expect(parseRecordLine(line, 't', 2)).toEqual(r);
    const small: TraceRecord = ['munmap', 7, 0x7f0000000000, 4096, 0];
    expect(recordLine(small)).toBe(JSON.stringify(small));
    expect(parseRecordLine(recordLine(['munmap', 7, 4096, 2n ** 53n + 1n, -22]), 't', 2)[3]).toBe(2n ** 53n + 1n);
  });

  it('both readers give the bigint; a string in a field that is not an argument is refused', () => {
    const file = join(dir, 'big.trace');
    const header = '{"format":"mmsim-trace/1","command":["x"],"kernel":"6.18","thp":"madvise"}';
    const rec = '["munmap",7,4096,"18446744073709547520",-22]';
    writeFileSync(file, [header, rec, '["end",1]', ''].join('\n'));
    const viaRead = [...readTraceSync(file)].flatMap((x) => ('record' in x ? [x.record] : []));
    const viaScan: TraceRecord[] = [];
    scanTrace(file, { header: () => {}, fault: () => {}, record: (r) => viaScan.push(r) });
    expect(viaRead).toEqual([['munmap', 7, 4096, 2n ** 64n - 4096n, -22]]);
    expect(viaScan).toEqual(viaRead);
    expect(() => parseRecordLine('["munmap",7,4096,4096,"-22"]', 't', 3)).toThrow(TraceFormatError);
    expect(() => parseRecordLine('["munmap",7,4096,4096,"-22"]', 't', 3)).toThrow(/t:3 \(munmap.ret\): must be an integer, got "-22"/);
    expect(() => parseRecordLine('["munmap",7,4096,"007199254740993",0]', 't', 3)).toThrow(/\(munmap.len\): must be an integer \(a decimal string only/);
  });
});
