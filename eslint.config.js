// ESLint 9 flat config for the whole workspace (run per project by the inferred `lint`
// target: `eslint <projectRoot>`, or everything at once with `npx eslint .`).
// A modest rule set: typescript-eslint's recommended (syntax-only), unused variables,
// `any` as a warning, and no eval of any kind; the floors of the house (Nx module
// boundaries); and one type-aware rule over the libraries, switch exhaustiveness.
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import globals from 'globals';
import nx from '@nx/eslint-plugin';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/build/**',
      '**/coverage/**',
      '.nx/**',
      'docs/api/**',
      // the debugger's bundle, built by its prepack (gitignored)
      'apps/debugger/app/**',
      'tools/nx-plugin/src/generators/*/files/**',
      // gitignored scratch space (.gitignore: /tmp/, /tmp-*.ts)
      'tmp/**',
      'tmp-*.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.node, ...globals.es2021 },
    },
    linterOptions: { reportUnusedDisableDirectives: 'warn' },
    rules: {
      'no-unused-vars': 'off', // superseded by the TypeScript-aware rule
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/no-explicit-any': 'warn',
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      // style-ish rules of the recommended sets that the codebase does not follow: warnings only
      '@typescript-eslint/no-empty-object-type': 'warn',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-empty': ['warn', { allowEmptyCatch: true }],
      'no-constant-condition': ['warn', { checkLoops: false }],
      'prefer-const': 'warn',
      'no-control-regex': 'off',
      // kernel code paths are generators (KGen) so the scheduler can interleave them; many never yield
      'require-yield': 'off',
    },
  },
  {
    // The floors of the house (tools/graph/src/floors.ts): a project imports only the
    // floors below its own, and its own where that floor allows it. Nx reads each
    // project's floor from its `scope:<floor>` tag; tools/graph's test checks that this
    // table says what floors.ts says, and that a crossing import is reported.
    files: ['{packages,apps,tools}/*/src/**/*.{ts,tsx,mts,js,mjs}'],
    // tests may import any package their project declares, and reach into another
    // project by path (tools/graph's TEST_FILE and TEST_DIRS say the same)
    ignores: ['**/*.{test,spec}.{ts,tsx}', '**/*.test-d.ts', '**/src/**/{testing,bench,consumer,__snapshots__}/**'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          depConstraints: [
            // a floor whose packages may not import each other also bans its own tag
            { sourceTag: 'scope:core', onlyDependOnLibsWithTags: ['scope:core'], notDependOnLibsWithTags: ['scope:core'] },
            { sourceTag: 'scope:model', onlyDependOnLibsWithTags: ['scope:core', 'scope:model'], notDependOnLibsWithTags: ['scope:model'] },
            { sourceTag: 'scope:runner', onlyDependOnLibsWithTags: ['scope:core', 'scope:model', 'scope:runner'], notDependOnLibsWithTags: ['scope:runner'] },
            { sourceTag: 'scope:plugin', onlyDependOnLibsWithTags: ['scope:core', 'scope:model', 'scope:runner', 'scope:plugin'] },
            { sourceTag: 'scope:app', onlyDependOnLibsWithTags: ['scope:core', 'scope:model', 'scope:runner', 'scope:plugin', 'scope:app'] },
            { sourceTag: 'scope:workspace', onlyDependOnLibsWithTags: ['*'] },
          ],
        },
      ],
    },
  },
  {
    // Type-aware, over the libraries' sources only (it builds their TypeScript programs,
    // ~40 s on 2 cores: `npm run lint` and CI's full phase, not npm test): a switch over
    // a union names every member, so a new event type, touch kind or step op cannot
    // fall into a default meant for the others. A default may stay beside them.
    // Each file is typed by its package's tsconfig.json, which holds the shipped sources
    // only (the tests are the root tsconfig's).
    files: ['packages/*/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/*.test-d.ts', '**/__fixtures__/**'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: fileURLToPath(new URL('.', import.meta.url)) } },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: false, allowDefaultCaseForExhaustiveSwitch: true }],
    },
  },
  {
    // browser code of the debugger's single-page app
    files: ['apps/debugger/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
    },
  },
  {
    // the workspace's own CommonJS tooling (Nx loads it through require)
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
