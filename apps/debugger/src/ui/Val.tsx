import type { KeyboardEvent, ReactNode } from 'react';

/**
 * A value whose history can be asked for: click (or Enter / Space) lists every event that
 * wrote it. An inline span with the button role, not a <button>: the page tables draw a few
 * per row and rewrite them on every seek, and a button is a box of its own to style and lay
 * out.
 */
export function Val({ children, onClick, title, testid }: { children: ReactNode; onClick(): void; title: string; testid?: string }) {
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    e.preventDefault();
    onClick();
  };
  return (
    <span role="button" tabIndex={0} className="val" onClick={onClick} onKeyDown={onKeyDown} title={`${title} (provenance)`} data-testid={testid}>
      {children}
    </span>
  );
}
