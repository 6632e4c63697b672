/**
 * `mmsim bench` and `mmsim fuzz` run private tools of the mmsim monorepo (tools/bench,
 * tools/fuzz), which are not published: an installed CLI says so, and why, instead of
 * advising an `npm pack` of a package npm would refuse to pack for the registry.
 */
import { CliError, EXIT } from './context.js';

const WHY: Record<'bench' | 'fuzz', { pkg: string; why: string }> = {
  bench: {
    pkg: '@mmsim/bench',
    why: "it measures the simulator against this machine's kernel (root, the kernel oracle) for the project's own performance targets",
  },
  fuzz: {
    pkg: '@mmsim/fuzz',
    why: "it compares random scenarios with this machine's kernel (root, the kernel oracle) and saves what it shrinks as the monorepo's regression scenarios",
  },
};

/** The error of a workspace-only command whose package did not load (`missing`: the loader's reason). */
export function workspaceOnly(command: 'bench' | 'fuzz', missing: string): CliError {
  const { pkg, why } = WHY[command];
  return new CliError(
    `mmsim ${command} is not part of the published CLI: ${pkg} is a private tool of the mmsim monorepo (${why}); ` +
      `run it in a clone of the repository (\`npm ci && npx mmsim ${command}\`) [${missing}]`,
    EXIT.BAD_INPUT,
  );
}
