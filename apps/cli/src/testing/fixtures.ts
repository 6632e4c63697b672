/**
 * Test support: a tiny stand-in for the kernel model that follows @mmsim/runner's
 * API and log conventions (a `step:<op>` span per step ending in a note with the step's
 * observation entry, a note per snapshot), so the CLI's commands can be tested on
 * real engine logs without the model. It knows mmap, munmap, touch and snapshot.
 */
import {
  vmaLookup,
  E,
  Engine,
  TimeTravel,
  VM_ACCOUNT,
  VM_MAYREAD,
  VM_MAYWRITE,
  VM_READ,
  VM_WRITE,
  definePlugin,
  lookupPte,
  ptePfn,
  type EventLog,
  type LogHeader,
  type Plugin,
  type State,
  type KGen,
} from '@mmsim/core';
import { canonicalizeSnapshot, type Observation, type Scenario, type SnapshotObservation, type StepObservation } from '@mmsim/scenario';
import { vmPerms } from '../decode.js';
import type { InvariantsModule, LinuxRunOptions, LinuxRunResult, Violation } from '../integrations.js';

export const BASE = 0x10000000;
const MM = 1;

/** A private mapping's flags; a writable one is accountable (mm/mmap.c accountable_mapping). */
function protFlags(p: string): number {
  return (p[0] === 'r' ? VM_READ : 0) | (p[1] === 'w' ? VM_WRITE | VM_ACCOUNT : 0) | VM_MAYREAD | VM_MAYWRITE;
}

function snapshotOf(s: State, label: string): SnapshotObservation {
  const mm = s.mms[MM];
  if (!mm) return { label, procs: [] };
  const vmas = mm.vmas.ids().map((id) => s.vmas.get(id)!).map((v) => ({ start: v.start - BASE, end: v.end - BASE, perms: vmPerms(v.flags), vmFlags: v.flags & VM_ACCOUNT ? 'ac' : '' }));
  const pages = [];
  for (const id of mm.vmas) {
    const v = s.vmas.get(id)!;
    for (let vpn = v.start; vpn < v.end; vpn++) {
      const pte = lookupPte(mm, vpn);
      if (pte > 0) pages.push({ page: vpn - BASE, present: true, swapped: false, rawFrame: ptePfn(pte), compound: null, exclusive: true });
    }
  }
  return { label, procs: canonicalizeSnapshot([{ proc: 0, vmas, pages }]) };
}

function* mmap(eng: Engine, start: number, pages: number, prot: string): KGen<number> {
  yield* eng.lock(`mmap_lock:${MM}`, 0, 'sleep');
  eng.emit(E.VmaInsert, eng.ids.vma++, MM, start, start + pages, start, protFlags(prot));
  yield* eng.unlock(`mmap_lock:${MM}`, 0, 'sleep');
  return 0;
}

function* munmap(eng: Engine, start: number, pages: number): KGen<number> {
  yield* eng.lock(`mmap_lock:${MM}`, 0, 'sleep');
  for (const id of eng.s.mms[MM].vmas.ids()) {
    const v = eng.s.vmas.get(id)!;
    if (v.start >= start && v.end <= start + pages) {
      for (let vpn = v.start; vpn < v.end; vpn++) {
        const pte = lookupPte(eng.s.mms[MM], vpn);
        if (pte > 0) {
          eng.emit(E.PteClear, MM, vpn);
          eng.emit(E.FolioCount, ptePfn(pte), 2, -1);
          eng.emit(E.FolioFree, ptePfn(pte));
        }
      }
      for (const av of [...v.chain]) eng.emit(E.AvcUnlink, id, av);
      eng.emit(E.VmaRemove, id);
    }
  }
  yield* eng.unlock(`mmap_lock:${MM}`, 0, 'sleep');
  return 0;
}

function* touch(eng: Engine, start: number, pages: number): KGen<number> {
  for (let vpn = start; vpn < start + pages; vpn++) {
    yield* eng.lock(`mmap_lock:${MM}`, 1, 'sleep');
    const mm = eng.s.mms[MM];
    const vid = vmaLookup(eng.s, mm, vpn)?.id;
    if (vid === undefined) {
      yield* eng.unlock(`mmap_lock:${MM}`, 1, 'sleep');
      return -(vpn - BASE) - 1;
    }
    yield* eng.span('handle_mm_fault', function* () {
      const v = eng.s.vmas.get(vid)!;
      if (!v.anonVma) {
        const av = eng.ids.anonVma++;
        eng.emit(E.AnonVmaCreate, av, 0, 0);
        eng.emit(E.VmaSetAnonVma, vid, av);
        eng.emit(E.AvcLink, vid, av);
      }
      if (lookupPte(eng.s.mms[MM], vpn) === 0) {
        yield* eng.lock(`ptl:${MM}:${vpn >> 9}`, 0, 'spin');
        if (!hasTable(eng.s, vpn)) eng.emit(E.PtAlloc, MM, vpn);
        const pfn = eng.ids.pfn++;
        eng.emit(E.FolioAlloc, pfn, 0);
        eng.emit(E.FolioMapping, pfn, 1, eng.s.vmas.get(vid)!.anonVma);
        eng.emit(E.FolioIndex, pfn, vpn);
        eng.emit(E.FolioCount, pfn, 2, 1);
        eng.emit(E.PageAnonExclusive, pfn, 1);
        eng.emit(E.PteSet, MM, vpn, pfn, 2 | 4 | 8);
        yield* eng.unlock(`ptl:${MM}:${vpn >> 9}`, 0, 'spin');
      }
      eng.emit(E.Fault, MM, vpn, 1, 0);
      return 0;
    });
    yield* eng.unlock(`mmap_lock:${MM}`, 1, 'sleep');
  }
  return 0;
}

function hasTable(s: State, vpn: number): boolean {
  const mm = s.mms[MM];
  const pud = mm.pgd[Math.floor(vpn / 512 ** 3) % 512];
  const pmdt = pud?.[Math.floor(vpn / 512 ** 2) % 512];
  return !!pmdt?.[Math.floor(vpn / 512) % 512];
}

export function fakeRunScenario(s: Scenario, opts: LinuxRunOptions = {}): LinuxRunResult {
  const eng = new Engine({ config: { scenario: s.name, plugins: (opts.plugins ?? []).map((p) => (Array.isArray(p) ? p[0].name : p.name)) }, seed: 0 });
  for (const p of opts.plugins ?? []) {
    if (Array.isArray(p)) eng.plugins.use(p[0] as Plugin<unknown>, p[1]);
    else eng.plugins.use(p);
  }
  eng.setTask(1);
  eng.emit(E.MmCreate, MM, 0);
  eng.commit();
  const steps: StepObservation[] = [];
  const snapshots: SnapshotObservation[] = [];
  s.steps.forEach((st, i) => {
    opts.onStep?.(i, s.steps.length);
    if (st.op === 'snapshot') {
      eng.emit(E.Note, 0, 0, 0, 0, 0, 0, JSON.stringify({ snapshot: st.label, procs: [[0, MM]] }));
      eng.commit();
      snapshots.push(snapshotOf(eng.state, st.label));
      return;
    }
    let entry: StepObservation = { i, op: st.op, result: { ok: false, errno: 'EINVAL' } };
    eng.syscall(
      `step:${st.op}`,
      function* () {
        let r = 0;
        if (st.op === 'mmap') r = yield* mmap(eng, BASE + st.page, st.pages, st.prot);
        else if (st.op === 'munmap') r = yield* munmap(eng, BASE + st.page, st.pages);
        else if (st.op === 'touch') r = yield* touch(eng, BASE + st.page, st.pages);
        entry =
          st.op === 'mmap'
            ? { i, op: st.op, result: { ok: true, page: st.page } }
            : r < 0
              ? { i, op: st.op, result: { ok: false, signal: 'SIGSEGV', page: -r - 1 } }
              : { i, op: st.op, result: { ok: true } };
        eng.emit(E.Note, 0, 0, 0, 0, 0, 0, JSON.stringify(entry));
        return 0;
      },
      i,
      st.proc,
    );
    steps.push(entry);
  });
  eng.close();
  snapshots.push(snapshotOf(eng.state, 'final'));
  const observation: Observation = { format: 'mmsim-observation/1', scenario: s.name, steps, snapshots };
  return { observation, engine: eng, header: { mmsimVersion: '0.1.0', config: eng.options.config, seed: 0 } };
}

export function fakeObservationFromLog(log: EventLog, header?: LogHeader): Observation {
  const tt = new TimeTravel(log);
  const steps: StepObservation[] = [];
  const snapshots: SnapshotObservation[] = [];
  let name = '?';
  for (const ev of log.events()) {
    if (ev.type !== 'note') continue;
    const j = JSON.parse(ev.text) as { snapshot?: string } & StepObservation;
    if (j.snapshot !== undefined) snapshots.push(snapshotOf(tt.stateAt(ev.seq + 1), j.snapshot));
    else steps.push(j);
  }
  snapshots.push(snapshotOf(tt.stateAt(log.length), 'final'));
  name = String(header?.config.scenario ?? 'from-log');
  return { format: 'mmsim-observation/1', scenario: name, steps, snapshots };
}

/** Module object shaped like @mmsim/runner. */
export const fakeLinux = { runScenario: fakeRunScenario, observationFromLog: fakeObservationFromLog };

/** Shaped like @mmsim/invariants: flags every VMA inserted without VM_READ. */
export const fakeInvariants: InvariantsModule = {
  attachCheckers(engine) {
    const found: Violation[] = [];
    engine.onRaw((r, eng) => {
      if (r.type === E.VmaInsert && !(r.f & VM_READ)) {
        const path = (eng.s.spans[eng.currentTask] ?? []).map((f) => f.name);
        found.push({ checker: 'vma-readable', seq: r.seq, spanPath: path, message: `vma ${r.a} is not readable`, objects: { vma: r.a } });
      }
    });
    return { violations: () => found };
  },
};

/** A plugin module (default export) and one that is not a plugin. */
export const fakePluginModule = { default: definePlugin({ name: 'test-plugin', setup() {} }) };

/** A scenario as JSON text. */
export function scenarioJson(steps: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ format: 'mmsim-scenario/1', name: 'test', arena: { pages: 64 }, steps, ...extra }, null, 1);
}
