/**
 * The protocol between the page and the debugger worker. Everything that crosses is
 * plain data (structured clone), reduced to what the views draw: a state is never
 * shipped whole.
 *
 * Positions: `pos` in [0, N] is "the state after the first pos events"; the last
 * applied event at pos is seq pos-1.
 */

import type { MergeWhy } from '@mmsim/linux';
import type { AnonVma, Vma } from '@mmsim/core';
import type { CheckerFinding } from './checks.js';

export type { CheckerFinding };

export type StepUnit = 'event' | 'span' | 'syscall' | 'violation';

/** The timeline marks these: error events now, checker violations later. */
export interface ViolationSource {
  /** seqs of violating events, ascending */
  readonly violations: number[];
  /** why each is flagged, by seq (optional) */
  readonly reasons?: Record<number, string>;
}

/**
 * A live page's log (`mmsim serve --live`), as the server's /api/live stream tells it
 * each time it changes: what of the run's log has arrived whole so far.
 */
export interface LiveStatus {
  /** events in the whole, verified chunks so far: what /log.mmlog serves */
  readonly events: number;
  readonly chunks: number;
  /** bytes of the header and those chunks */
  readonly bytes: number;
  /** the run has ended (finished or failed) */
  readonly done: boolean;
  /** the run's own trailer arrived: the log is the finished file */
  readonly complete: boolean;
  /** times the follower started over (the file was cut back by a rollback, or replaced) */
  readonly restarts: number;
  /** what runs (e.g. "run s.json") */
  readonly label?: string;
  /** the run's exit code, once done */
  readonly exitCode?: number;
  /** why the last read was refused (the follower starts over) */
  readonly error?: string;
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
  /** what a task runs, where the log says (a concurrent step's `task:<op>` spans): task -> "mremap" */
  readonly taskNames: Record<number, string>;
  /** seqs the timeline marks (error events, plus any checker's) */
  readonly violations: number[];
  readonly violationReasons: Record<number, string>;
  /** the worker's checkers: null while they run */
  readonly checked: { count: number } | null;
  /** scenario arena start (vpn), from the header (0: unknown) */
  readonly arenaBase: number;
  /** event type names, for the events filter */
  readonly eventTypes: string[];
  readonly counts: CountsSeries;
  readonly lockNames: string[];
  /** milliseconds spent decoding and indexing */
  /** ms; `indexedBy`: who built the debugger's index (the replay here, the checkers' worker, or here after it sent none) */
  readonly timing: { decode: number; index: number; total: number; indexedBy: 'replay' | 'other worker' | 'fallback' };
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
  /**
   * for a stale page: the locks held now that cover it (the folio lock, the anon_vma root's
   * rwsem, the PTE lock, mmap_lock), as "name (mode, task N)": an expected intermediate state
   * of a relocation while they are held
   */
  readonly covered: string[];
  /** a checker's finding about this folio at or before this point (only these are red) */
  readonly flagged: string;
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
  /** open spans, outermost first; args: the syscall's decoded arguments (top-level spans) */
  readonly spans: { id: number; name: string; args?: string }[];
  readonly locks: { lock: string; mode: number; kind: number }[];
}

/** One span of a task in the window of the task tracks: nested by depth. */
export interface SpanBar {
  readonly task: number;
  readonly id: number;
  readonly name: string;
  readonly depth: number;
  /** seq of the open and of the close (N when still open) */
  readonly start: number;
  readonly end: number;
  readonly result?: number;
}

export interface TaskTracks {
  readonly from: number;
  readonly to: number;
  readonly tasks: number[];
  readonly bars: SpanBar[];
  /** the window was too long to scan: only top-level spans are drawn */
  readonly topOnly: boolean;
}

export interface LockLane {
  /** the lane's key: a lock name, or "folio:*" for all folio locks */
  readonly key: string;
  /** lock class: the name up to its first ':' (mmap_lock, vma_lock, anon_vma, ptl, folio) */
  readonly cls: string;
  /** locks in the lane (folio:* collapses many) */
  readonly count: number;
}

export interface LockInterval {
  /** the lane it is drawn in */
  readonly lane: string;
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
  /** grouped by class; classes and lanes in order of first use in the log */
  readonly lanes: LockLane[];
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
  /** the task tracks: spans per task around this point */
  readonly tracks: TaskTracks;
  /** for every two adjacent VMAs of an mm: would the policy merge them, and why (not) */
  readonly merges: MergeWhy[];
  /** the syscall being run at this point, with its arguments (null between syscalls) */
  readonly syscall: { task: number; span: number; name: string; args: string; seq: number } | null;
  /** checker findings at or before this point, nearest first (a few) */
  readonly findings: CheckerFinding[];
  /** VMA changes since the pinned point (when one is pinned) */
  readonly vmaDiff: { pinned: number; entries: VmaDiffEntry[] } | null;
  /**
   * the events list's rows around this point (when the request asks `around`): the list
   * that follows the current event draws them with the view, no second round trip
   */
  readonly around: { from: number; rows: EventRow[] } | null;
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

/** why two adjacent VMAs (do not) merge: the model's mergeWhy(), which `mmsim why` prints too */
export type { MergeWhy };

/** A value whose writers the provenance view lists. */
export type HistoryTarget =
  | { kind: 'folio-index'; pfn: number }
  | { kind: 'folio-mapping'; pfn: number }
  | { kind: 'folio'; pfn: number }
  | { kind: 'pte'; mm: number; vpn: number }
  | { kind: 'vma'; id: number }
  | { kind: 'vma-range'; id: number }
  | { kind: 'vma-anon'; id: number }
  | { kind: 'anon-vma'; id: number }
  | { kind: 'lock'; name: string };

export interface HistoryResult {
  readonly target: HistoryTarget;
  readonly label: string;
  /** the writers, in log order (at most MAX_HISTORY_ROWS) */
  readonly rows: EventRow[];
  readonly total: number;
  /** the last writer before the asked position, and the first at or after it (-1: none) */
  readonly lastBefore: number;
  readonly firstAfter: number;
  readonly ms: number;
}

export interface SearchQuery {
  /** an event type name (exact) */
  readonly type?: string;
  readonly task?: number;
  /** words that must all occur in the decoded row (fields, addresses, lock names, span) */
  readonly text?: string;
}

export interface SearchResult {
  readonly rows: EventRow[];
  readonly scanned: number;
  readonly ms: number;
}

/* ---------- messages ---------- */

export type Request =
  /**
   * `checks: false`: the session's worker does not run the checkers (the page runs them in a
   * worker of their own with `check` and hands the findings back with `findings`);
   * `indexPort`: the debugger's index of the log comes on this port (from the worker that
   * runs `check` with the other end), built there while the keyframes replay here
   */
  | { kind: 'load'; url: string; salvage?: boolean; name?: string; checks?: boolean; indexPort?: MessagePort }
  | { kind: 'loadBytes'; bytes: ArrayBuffer; salvage?: boolean; name?: string; checks?: boolean; indexPort?: MessagePort }
  /**
   * run every checker over a log (no session): progress as `checks` messages, the findings
   * at the end; with `indexPort`, first index the log and send the index on it. `holdMs`:
   * once indexed, wait that long at most before the first checker slice, unless a `yield`
   * (0: resume) comes sooner: the page resumes them once its first view is drawn (two
   * cores: the session's replay and the page's first render come first)
   */
  | { kind: 'check'; url?: string; bytes?: ArrayBuffer; salvage?: boolean; name?: string; indexPort?: MessagePort; holdMs?: number }
  /** the checkers' findings (of `check` in another worker) join the loaded session's marks */
  | { kind: 'findings'; findings: CheckerFinding[]; count: number }
  /** `around`: also the rows of this many events centred on the current one (seq pos-1) */
  | { kind: 'view'; pos: number; pinned: number | null; laneWindow?: number; around?: number }
  | { kind: 'events'; from: number; count: number }
  | { kind: 'step'; pos: number; dir: 1 | -1; unit: StepUnit }
  | { kind: 'diff'; a: number; b: number }
  | { kind: 'violations'; source: ViolationSource }
  | { kind: 'history'; target: HistoryTarget; pos: number }
  | { kind: 'search'; query: SearchQuery; pos: number; dir: 1 | -1 }
  | { kind: 'syscalls' }
  /**
   * seeks come first: a running `check` pauses for `ms` (0: resumes now). Answered at once,
   * beside the queue (the `check` it pauses is what the queue is running).
   */
  | { kind: 'yield'; ms: number };

export interface ResultMap {
  load: LogSummary;
  loadBytes: LogSummary;
  view: ViewData;
  events: EventRow[];
  step: number;
  diff: DiffSummary;
  violations: LogSummary;
  history: HistoryResult;
  search: SearchResult;
  syscalls: SyscallList;
  yield: null;
  check: CheckResult;
  findings: LogSummary;
}

/** What a `check` run found: every finding (up to the checkers' recording limit) and the count. */
export interface CheckResult {
  readonly findings: CheckerFinding[];
  readonly count: number;
  /** events checked */
  readonly events: number;
  readonly ms: number;
}

/** Every top-level span (syscall) of the log: open and close seqs, name, decoded arguments. */
export interface SyscallList {
  readonly open: number[];
  /** seq of the span_close (N when never closed) */
  readonly close: number[];
  readonly names: string[];
  readonly args: string[];
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
  | { readonly id: -1; readonly progress: string }
  /** keyframes built so far, of the log's events (a seek past them waits while they are built up to it) */
  | { readonly id: -1; readonly keyframes: { readonly built: number; readonly total: number } }
  /** the checkers' progress in the worker; once finished, the summary with their findings */
  | { readonly id: -1; readonly checks: ChecksStatus; readonly summary?: LogSummary };

export interface ChecksStatus {
  /** events checked, of total */
  readonly done: number;
  readonly total: number;
  readonly finished: boolean;
  /** violations found so far */
  readonly count: number;
}

/** Requests where only the latest one matters (scrubbing). */
export const LATEST_ONLY: ReadonlySet<RequestKind> = new Set(['view', 'diff']);

export const MAX_VMAS_PER_MM = 2000;
export const MAX_ROWS_PER_VMA = 64;
export const MAX_PAGE_ROWS = 300;
export const MAX_ANON_VMAS = 500;
export const MAX_LANE_INTERVALS = 600;
export const MAX_COUNT_SAMPLES = 4000;
/** rows of `around` a view ships at most */
export const MAX_AROUND_ROWS = 200;
