/** Test support: scenarios as the CLI reads them. */

/** A scenario as JSON text. */
export function scenarioJson(steps: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ format: 'mmsim-scenario/1', name: 'test', arena: { pages: 64 }, steps, ...extra }, null, 1);
}
