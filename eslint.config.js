// ESLint: typescript-eslint with type-aware rules (no floating promises), and
// the architecture lines:
// - domain code (every `domain/` folder, the kernel's included) imports no I/O
//   library and no I/O module of ours: plain data in, plain data out;
// - the kernel (services/core) imports no service;
// - no import cycles (import-x/no-cycle).
// Formatting is Prettier's (npm test runs `prettier --check`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/** Libraries that do I/O (or load native code): never in domain code. */
const IO_LIBRARIES = [
  'ioredis',
  'express',
  'pino',
  'opossum',
  'bullmq',
  'prom-client',
  'onnxruntime-node',
  'ccxt',
  'helmet',
  'express-rate-limit',
  'rate-limit-redis',
  'node:fs',
  'node:fs/promises',
  'node:http',
  'node:https',
  'node:net',
  'node:dns',
  'node:dns/promises',
  'node:child_process',
  'node:os',
  'node:worker_threads',
  'node:cluster',
  'node:process',
  'fs',
  'fs/promises',
  'http',
  'net',
  'child_process',
  'os',
];
/** Our own modules that do I/O (or read the environment). */
const IO_MODULES = [
  '**/redis/**',
  '**/control.ts',
  '**/control/**',
  '**/service.ts',
  '**/log.ts',
  '**/metrics.ts',
  '**/kill-switch.ts',
  '**/scope-subjects.ts',
  '**/heartbeats-io.ts',
  '**/config/load.ts',
  '**/config/reloader.ts',
  '**/config/instruments.ts',
  '**/config/risk-reload.ts',
  '**/settings.ts',
  '**/venue/**',
  '**/routes/**',
];
/** Services, seen from the kernel. */
const SERVICES = [
  '../../*/**',
  '../feed/**',
  '../strategist/**',
  '../risk-harmoniser/**',
  '../executor/**',
  '../web/**',
  '../../feed/**',
  '../../strategist/**',
  '../../risk-harmoniser/**',
  '../../executor/**',
  '../../web/**',
];

const domainRule = (extraPatterns = []) => [
  'error',
  {
    paths: IO_LIBRARIES.map((name) => ({ name, message: 'domain code is pure: no I/O imports' })),
    patterns: [{ group: IO_MODULES, message: 'domain code is pure: it imports no module that does I/O (move shared types into a domain module)' }, ...extraPatterns],
  },
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'logs/**', '.scratch/**', 'coverage/**', 'grafana/dashboards/**', 'dist/**', '.build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs', 'bin/*.mjs', 'services/web/public/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js', '.mjs'],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    files: ['services/core/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: SERVICES, message: 'the kernel imports no service' }] }] },
  },
  {
    files: ['**/domain/**/*.ts'],
    rules: { 'no-restricted-imports': domainRule() },
  },
  {
    // The kernel's domain: both lines hold (a later block replaces the rule, so it lists both).
    files: ['services/core/domain/**/*.ts'],
    rules: { 'no-restricted-imports': domainRule([{ group: SERVICES, message: 'the kernel imports no service' }]) },
  },
  {
    files: ['scripts/*.mjs', 'bin/*.mjs', '*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly', fetch: 'readonly', setTimeout: 'readonly' } },
  },
  {
    // The dashboard: plain browser JavaScript, served as it is.
    files: ['services/web/public/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(['document', 'window', 'sessionStorage', 'fetch', 'EventSource', 'ResizeObserver', 'Node', 'setInterval', 'console'].map((g) => [g, 'readonly'])),
    },
  },
);
