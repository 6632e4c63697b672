/**
 * The protocol between the page and the debugger worker. Everything that crosses is
 * plain data (structured clone), reduced to what the views draw: a state is never
 * shipped whole.
 *
 * Positions: `pos` in [0, N] is "the state after the first pos events"; the last
 * applied event at pos is seq pos-1.
 */

import type { AnonVma, Vma } from '@mmsim/core';

export type StepUnit = 'event' | 'span' | 'syscall' | 'violation';

/** The timeline marks these: error events now, checker violations later. */
export interface ViolationSource {
  /** seqs of violating events, ascending */
  readonly violations: number[];
  /** why each is flagged, by seq (optional) */
  readonly reasons?: Record<number, string>;
}

export interface CountsSeries {
  /** position of each sample, ascending */
  readonly pos: Float64Array;
  readonly vmas: Float64Array;
  readonly anonVmas: Float64Array;
  readonly avcs: Float64Array;
  readonly folios: Float64Array;
}

export interface LogSummary {
  readonly events: number;
  readonly header: { mmsimVersion: string; config: Record<string, unknown>; seed: number };
  /** set when a damaged tail was dropped (salvage) */
  readonly damage?: { offset: number; message: string; eventsKept: number };
  readonly syscalls: number;
  readonly spans: number;
  readonly tasks: number[];
  /** seqs the timeline marks (error events, plus any checker's) */
  readonly violations: number[];
  readonly violationReasons: Record<number, string>;
  readonly counts: CountsSeries;
  readonly lockNames: string[];
  /** milliseconds spent decoding and indexing */
  readonly timing: { decode: number; index: number; total: number };
}

export interface EventRow {
  readonly seq: number;
  readonly task: number;
  readonly span: number;
  readonly spanName: string;
  readonly type: string;
  /** "name=value" pairs, the string slot quoted; rendered as text */
  readonly fields: string;
}

/** A VMA as the views show it: the state's fields and the root of its anon_vma. */
export interface VmaLite extends Vma {
  /** root of vma.anonVma (0: none) */
  readonly root: number;
}

export interface MmView {
  readonly id: number;
  readonly parent: number;
  readonly ptTables: number;
  /** VMAs sorted by start (at most MAX_VMAS_PER_MM) */
  readonly vmas: VmaLite[];
  readonly vmaTotal: number;
}

export interface PteRow {
  readonly vpn: number;
  /** 0 for a swap entry */
  readonly pfn: number;
  readonly flags: number;
  readonly swapSlot: number;
  readonly huge: boolean;
  /** head pfn of the folio containing pfn (0: none found) */
  readonly folio: number;
  readonly order: number;
  /** folio->index of the head, and this page's index (head index + offset) */
  readonly folioIndex: number;
  readonly pageIndex: number;
  /** linear_page_index(vma, vpn) */
  readonly expectedIndex: number;
  readonly mappingKind: number;
  readonly mapping: number;
  readonly mapcount: number;
  /** why the page is stale; empty when fine */
  readonly problems: string[];
}

export interface VmaPages {
  readonly vma: number;
  readonly mm: number;
  readonly start: number;
  readonly end: number;
  readonly present: number;
  readonly swapped: number;
  readonly stale: number;
  /** at most MAX_ROWS_PER_VMA (MAX_PAGE_ROWS over all VMAs), stale rows first then by vpn */
  readonly rows: PteRow[];
  readonly truncated: boolean;
}

/** An anon_vma in the forest view: the state's record as it is. */
export type AvNode = AnonVma;

export interface HeldLock {
  readonly lock: string;
  /** 0 exclusive/write, 1 shared/read */
  readonly mode: number;
  /** 0 sleeping, 1 spinning */
  readonly kind: number;
  readonly holders: readonly number[];
}

export interface TaskView {
  readonly task: number;
  readonly spans: { id: number; name: string }[];
  readonly locks: { lock: string; mode: number; kind: number }[];
}

export interface LockInterval {
  readonly lock: string;
  readonly task: number;
  readonly mode: number;
  /** seq of the acquire; end: seq of the release (or N when never released) */
  readonly start: number;
  readonly end: number;
}

export interface LockLanes {
  /** the window of positions the chart shows */
  readonly from: number;
  readonly to: number;
  readonly lanes: string[];
  readonly intervals: LockInterval[];
  readonly truncated: boolean;
}

export type VmaChangeKind = 'added' | 'removed' | 'resized' | 'moved' | 'changed';

export interface VmaDiffEntry {
  readonly id: number;
  readonly kind: VmaChangeKind;
  /** annotations between the two points: "split from #1", "absorbed #5" ... */
  readonly notes: string[];
  readonly before?: VmaLite;
  readonly after?: VmaLite;
}

export interface ViewData {
  readonly pos: number;
  /** the last applied event (seq pos-1) */
  readonly last: EventRow | null;
  readonly task: number;
  readonly counts: { vmas: number; anonVmas: number; avcs: number; folios: number; mms: number; errors: number };
  readonly mms: MmView[];
  readonly pages: VmaPages[];
  readonly anonVmas: AvNode[];
  readonly anonVmaTotal: number;
  readonly locks: HeldLock[];
  readonly tasks: TaskView[];
  readonly lanes: LockLanes;
  /** VMA changes since the pinned point (when one is pinned) */
  readonly vmaDiff: { pinned: number; entries: VmaDiffEntry[] } | null;
  /** milliseconds the worker spent */
  readonly ms: number;
}

export interface DiffSummary {
  readonly a: number;
  readonly b: number;
  readonly vmas: { added: number[]; removed: number[]; changed: number[] };
  readonly anonVmas: { added: number[]; removed: number[]; changed: number[] };
  readonly folios: { added: number; removed: number; changed: number; sample: { added: number[]; removed: number[]; changed: number[] } };
  readonly ptes: { count: number; sample: [number, number][] };
  readonly mms: { added: number[]; removed: number[] };
  readonly ms: number;
}

/* ---------- messages ---------- */

export type Request =
  | { kind: 'load'; url: string; salvage?: boolean; name?: string }
  | { kind: 'loadBytes'; bytes: ArrayBuffer; salvage?: boolean; name?: string }
  | { kind: 'view'; pos: number; pinned: number | null; laneWindow?: number }
  | { kind: 'events'; from: number; count: number }
  | { kind: 'step'; pos: number; dir: 1 | -1; unit: StepUnit }
  | { kind: 'diff'; a: number; b: number }
  | { kind: 'violations'; source: ViolationSource };

export interface ResultMap {
  load: LogSummary;
  loadBytes: LogSummary;
  view: ViewData;
  events: EventRow[];
  step: number;
  diff: DiffSummary;
  violations: LogSummary;
}

export type RequestKind = Request['kind'];

export interface RequestEnvelope {
  readonly id: number;
  readonly req: Request;
}

export type ResponseEnvelope =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: { name: string; message: string } }
  /** a newer request of the same channel arrived first: this one was dropped */
  | { readonly id: number; readonly ok: false; readonly superseded: true }
  | { readonly id: -1; readonly progress: string };

/** Requests where only the latest one matters (scrubbing). */
export const LATEST_ONLY: ReadonlySet<RequestKind> = new Set(['view', 'diff']);

export const MAX_VMAS_PER_MM = 2000;
export const MAX_ROWS_PER_VMA = 64;
export const MAX_PAGE_ROWS = 300;
export const MAX_ANON_VMAS = 500;
export const MAX_LANE_INTERVALS = 600;
export const MAX_COUNT_SAMPLES = 4000;
