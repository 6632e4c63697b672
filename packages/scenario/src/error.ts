/**
 * The error of a scenario that breaks the format, naming the file, step and field. Its own
 * module so that the parsers of the top level (parse.ts) and of concurrent steps
 * (concurrent.ts) both throw it without importing each other.
 */
/** A scenario that breaks the `mmsim-scenario/1` contract. */
export class ScenarioError extends Error {
  override name = 'ScenarioError';
  readonly file?: string;
  /** Index of the offending step in `steps`, when the error is in a step. */
  readonly step?: number;
  /** Field name (`"to"`, `"arena.pages"`, `"expect[2].snapshot"`...). */
  readonly field?: string;
  /** The bare reason, without file/step/field prefix. */
  readonly reason: string;
  /** 1-based line and column, for JSON syntax errors when known. */
  readonly line?: number;
  readonly column?: number;

  constructor(
    reason: string,
    where: { file?: string; step?: number; op?: string; field?: string; line?: number; column?: number } = {},
  ) {
    const parts: string[] = [];
    if (where.file !== undefined) {
      parts.push(where.line !== undefined ? `${where.file}:${where.line}:${where.column ?? 1}` : where.file);
    } else if (where.line !== undefined) {
      parts.push(`line ${where.line} column ${where.column ?? 1}`);
    }
    if (where.step !== undefined) parts.push(where.op ? `step ${where.step} (${where.op})` : `step ${where.step}`);
    if (where.field !== undefined) parts.push(`field "${where.field}"`);
    super(parts.length ? `${parts.join(': ')}: ${reason}` : reason);
    this.reason = reason;
    if (where.file !== undefined) this.file = where.file;
    if (where.step !== undefined) this.step = where.step;
    if (where.field !== undefined) this.field = where.field;
    if (where.line !== undefined) this.line = where.line;
    if (where.column !== undefined) this.column = where.column;
  }
}
