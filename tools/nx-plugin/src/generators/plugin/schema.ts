export interface PluginGeneratorSchema {
  /** kebab-case: packages/NAME, @mmsim/NAME */
  name: string;
  description?: string;
  /** parent folder (default "packages") */
  directory?: string;
  /** skip `npm install` after generating (tests, or when batching several generators) */
  skipInstall?: boolean;
}
