/**
 * The checkers a schedule runs under: every built-in of @mmsim/invariants, plus the
 * extra ones given (third-party checker plugins join here), reported as
 * {checker, message}. `only` keeps the named checkers (the explorer's --checkers).
 */
import type { Engine } from '@mmsim/core';
import type { InvariantsModule } from './integrations.js';

export interface Finding {
  checker: string;
  message: string;
}

export interface AttachedCheckers {
  violations(): Finding[];
  /** forget the violations so far (between the explorer's schedules) */
  clear(): void;
  detach(): void;
}

/** A checker attached to an engine for one run. */
export type CheckerFactory = (eng: Engine) => AttachedCheckers;

export function attachScheduleCheckers(inv: InvariantsModule, eng: Engine, extra: readonly CheckerFactory[] = []): AttachedCheckers {
  const builtIn = inv.attachCheckers(eng, { mode: 'report' }) as { violations(): { checker: string; message: string }[]; clear?(): void; detach?(): void };
  if (typeof builtIn.clear !== 'function') throw new Error('this @mmsim/invariants cannot clear its violations between schedules (too old for mmsim explore)');
  const others = extra.map((f) => f(eng));
  return {
    violations: () => [...builtIn.violations().map((v) => ({ checker: v.checker, message: v.message })), ...others.flatMap((o) => o.violations())],
    clear() {
      builtIn.clear!();
      for (const o of others) o.clear();
    },
    detach() {
      builtIn.detach?.();
      for (const o of others) o.detach();
    },
  };
}
