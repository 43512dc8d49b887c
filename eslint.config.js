// ESLint: typescript-eslint with type-aware rules (no floating promises),
// and the architecture lines: domain code imports no I/O library, the kernel
// imports no service.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const IO = ['ioredis', 'express', 'pino', 'node:fs', 'node:fs/promises', 'node:http', 'node:net', 'opossum', 'bullmq', 'prom-client'];

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'logs/**', '.scratch/**', 'coverage/**', 'grafana/dashboards/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  {
    files: ['**/domain/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: IO.map((name) => ({ name, message: 'domain code is pure: no I/O imports' })) }] },
  },
  {
    files: ['services/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../../*/**', '../feed/**', '../strategist/**', '../risk-harmoniser/**', '../executor/**', '../web/**'], message: 'the kernel imports no service' }] }],
    },
  },
  {
    files: ['scripts/*.mjs', '*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly', fetch: 'readonly', setTimeout: 'readonly' } },
  },
);
