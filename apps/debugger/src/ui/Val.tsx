import type { ReactNode } from 'react';

/** A value whose history can be asked for: click (or Enter) lists every event that wrote it. */
export function Val({ children, onClick, title, testid }: { children: ReactNode; onClick(): void; title: string; testid?: string }) {
  return (
    <button type="button" className="val" onClick={onClick} title={`${title} (provenance)`} data-testid={testid}>
      {children}
    </button>
  );
}
