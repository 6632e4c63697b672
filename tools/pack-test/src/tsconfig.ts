/** A tsconfig.json read as the TypeScript API's tests compile with it. */
import ts from 'typescript';

/** The parsed config at `path`; throws naming the file when it cannot be read. */
export function readTsconfig(path: string): ts.ParsedCommandLine {
  const cfg = ts.getParsedCommandLineOfConfigFile(path, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(`${path}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    },
  });
  if (!cfg) throw new Error(`cannot read ${path}`);
  return cfg;
}
