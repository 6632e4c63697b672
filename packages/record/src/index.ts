/**
 * @mmsim/record: record real programs (perf + a ptrace helper) as mmsim-trace/1, and
 * replay traces on the simulator under a mremap policy.
 */
export { TRACE_FORMAT, FAULT_WRITE, FAULT_KERNEL, FAULT_EXEC, RECORD_FIELDS, TraceFormatError, parseHeader, parseRecordLine, checkRecord, readTrace, readTraceSync, recordLine } from './format.js';
export type { TraceHeader, TraceRecord, Snapshot, MapsEntry } from './format.js';
export { U64_FIELDS, low32 } from './format.js';
export type { U64 } from './format.js';
export { record, buildC, RecordIncompleteError, RecordUnavailableError, TRACER_SOURCE } from './record.js';
export { recordPid } from './attach.js';
export type { RecordOptions, RecordResult } from './record.js';
export { PerfConverter, perfEvents } from './perf.js';
export type { ConvertStats } from './perf.js';
export { parseTracerLog, parseMapsLine } from './tracerlog.js';
export type { TracerLog, CloneInfo } from './tracerlog.js';
export { Replayer, replayTrace, isAnonEntry } from './replay.js';
export { scanTrace } from './scan.js';
export type { TraceSink } from './scan.js';
export type { Policy, Difference, ReplayOptions } from './replay.js';
export { TRACE_REPORT_FORMAT, countAnon } from './report.js';
export type { ProcessReport, TraceReport } from './report.js';
export { COVERAGE_WORKLOADS, WORKLOADS, buildWorkload } from './workloads.js';
export type { Workload } from './workloads.js';
export { writeSyntheticTrace } from './synthetic.js';
export type { SyntheticTraceOptions, SyntheticTraceResult } from './synthetic.js';
