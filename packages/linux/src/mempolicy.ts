/**
 * mbind() (mm/mempolicy.c do_mbind, mbind_range): a VMA's memory policy is a merge
 * attribute (is_mergeable_vma compares mpol_equal()), so mbind of part of a VMA splits it
 * through vma_modify_policy() and a range whose policy becomes its neighbour's again
 * merges. The model keeps a policy as a number that is equal exactly when mpol_equal()
 * is: the mode, its flags and the nodes it keeps. The model has one memory node (node
 * 0), as the project's machines: nodes are masked with it (mpol_set_nodemask) and pages
 * never need to move, so MPOL_MF_MOVE / STRICT change nothing.
 */
import { E, type KGen } from '@mmsim/core';
import { EFAULT, EINVAL } from './errno.js';
import { Kernel } from './kernel.js';
import { mmapWriteLock, mmapWriteUnlock, vmaModify, vmaNextFrom, vmaStartWrite, vmgVmaState } from './vma.js';

export const MPOL_DEFAULT = 0;
export const MPOL_PREFERRED = 1;
export const MPOL_BIND = 2;
export const MPOL_INTERLEAVE = 3;
export const MPOL_LOCAL = 4;
export const MPOL_PREFERRED_MANY = 5;
export const MPOL_WEIGHTED_INTERLEAVE = 6;
const MPOL_MAX = 7;
const MPOL_F_NUMA_BALANCING = 1 << 13;
const MPOL_F_RELATIVE_NODES = 1 << 14;
const MPOL_F_STATIC_NODES = 1 << 15;
const MPOL_MODE_FLAGS = MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING;
/** MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL */
const MPOL_MF_VALID = 7;
/** node_states[N_MEMORY] of the model: node 0 */
const MEMORY_NODES = 1;

/**
 * mpol_new() + mpol_set_nodemask(): the policy key of (mode with its flags, nodemask),
 * 0 for MPOL_DEFAULT (no VMA policy), or -errno. `nodes` is the nodemask's low bits.
 */
export function mpolKey(modeIn: number, nodes: number): number {
  // sanitize_mpol_flags()
  const flags = modeIn & MPOL_MODE_FLAGS;
  let mode = modeIn & ~MPOL_MODE_FLAGS;
  if (mode < 0 || mode >= MPOL_MAX) return -EINVAL;
  if (flags & MPOL_F_STATIC_NODES && flags & MPOL_F_RELATIVE_NODES) return -EINVAL;
  if (flags & MPOL_F_NUMA_BALANCING && mode !== MPOL_BIND && mode !== MPOL_PREFERRED_MANY) return -EINVAL;
  const user = flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES);
  if (mode === MPOL_DEFAULT) return nodes ? -EINVAL : 0;
  if (mode === MPOL_PREFERRED && !nodes) {
    if (user) return -EINVAL;
    mode = MPOL_LOCAL;
  } else if (mode === MPOL_LOCAL) {
    if (nodes || user) return -EINVAL;
  } else if (!nodes) return -EINVAL;
  let kept = 0;
  if (mode !== MPOL_LOCAL) {
    // mpol_set_nodemask(): the allowed memory nodes; create() refuses an empty result
    kept = (flags & MPOL_F_RELATIVE_NODES ? MEMORY_NODES : nodes & MEMORY_NODES) >>> 0;
    if (!kept) return -EINVAL;
    if (mode === MPOL_PREFERRED) kept = kept & -kept; // the first node
  }
  // mpol_equal(): mode, flags, the user's nodemask when it is kept (static/relative), the nodes
  return 1 + mode + 8 * ((flags >> 13) & 7) + 64 * (kept & 0xff) + 16384 * (user ? nodes & 0xff : 0);
}

/** vma_modify_policy(): [start, end) of vma gets policy `key`, merged or split off */
function* vmaModifyPolicy(k: Kernel, prevId: number, vmaId: number, start: number, end: number, key: number): KGen<number> {
  const vmg = vmgVmaState(prevId ? k.vma(prevId) : null, k.vma(vmaId), start, end);
  vmg.policy = key;
  return yield* vmaModify(k, vmg);
}

/** mbind_range(): the VMA now covering the range (the next prev), or -errno */
function* mbindRange(k: Kernel, vmaId: number, prevIn: number, start: number, end: number, key: number): KGen<{ err: number; prev: number }> {
  const vma = k.vma(vmaId);
  const vmend = Math.min(end, vma.end);
  let prevId = prevIn;
  let vmstart = vma.start;
  if (start > vma.start) {
    prevId = vma.id;
    vmstart = start;
  }
  if ((vma.policy ?? 0) === key) return { err: 0, prev: vma.id };
  const id = yield* vmaModifyPolicy(k, prevId, vmaId, vmstart, vmend, key);
  if (id < 0) return { err: id, prev: prevId };
  // vma_replace_policy()
  yield* vmaStartWrite(k, id);
  if ((k.vma(id).policy ?? 0) !== key) k.eng.emit(E.VmaPolicy, id, key);
  return { err: 0, prev: id };
}

/** queue_pages_range()'s range check: -EFAULT for a range with no VMA, or with a hole unless discontiguous is fine */
function mbindHoles(k: Kernel, mm: number, start: number, end: number, discontigOk: boolean): number {
  let first = true;
  let at = start;
  let err = 0;
  k.forEachVmaInRange(mm, start, end, (v) => {
    if (!discontigOk && v.start > at) {
      err = -EFAULT;
      return false;
    }
    first = false;
    at = v.end;
  });
  if (err) return err;
  if (first) return -EFAULT;
  return !discontigOk && at < end ? -EFAULT : 0;
}

/** mbind(start, len, mode, nodemask, flags), addresses in pages; `nodes` the nodemask's low bits */
export function* doMbind(k: Kernel, mm: number, start: number, pages: number, mode: number, nodes: number, flags: number): KGen<number> {
  return yield* k.eng.span('do_mbind', () => doMbindBody(k, mm, start, pages, mode, nodes, flags), start, pages);
}

function* doMbindBody(k: Kernel, mm: number, start: number, pages: number, mode: number, nodes: number, flags: number): KGen<number> {
  if (flags & ~MPOL_MF_VALID) return -EINVAL;
  const end = start + pages;
  if (end < start) return -EINVAL;
  if (end === start) return 0;
  const key = mpolKey(mode, nodes);
  if (key < 0) return key;
  yield* mmapWriteLock(k, mm);
  // the default policy may span holes (MPOL_MF_DISCONTIG_OK)
  let err = mbindHoles(k, mm, start, end, key === 0);
  if (!err) {
    const { vma: first, prev: before } = k.findVmaPrev(mm, start);
    let prevId = before ? before.id : 0;
    let cur = first;
    while (cur && cur.start < end) {
      const r = yield* mbindRange(k, cur.id, prevId, start, end, key);
      if (r.err) {
        err = r.err;
        break;
      }
      prevId = r.prev;
      cur = vmaNextFrom(k, mm, k.vma(r.prev).end);
    }
  }
  yield* mmapWriteUnlock(k, mm);
  return err;
}
