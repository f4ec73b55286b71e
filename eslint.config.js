// `npm run lint`: typescript-eslint's recommended rules plus the layer rules of design §2
// (lint/layers.js). test/integration/lint-layers.test.ts proves a violation fails.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { layerRules } from './lint/layers.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.serverless/**', '.esbuild/**', '.fleetline/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // A handler that reads a late-bound value before it is set (local/stack.ts) stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    name: 'build scripts (CommonJS, loaded by osls)',
    files: ['**/*.cjs', '**/*.d.cts'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    name: 'tests and benches: hostile payloads and API answers read loosely, terminal output has escape codes',
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-control-regex': 'off' },
  },
  {
    name: 'example bundles: plain Node.js programs run on a host',
    files: ['examples/**/*.{js,mjs}'],
    languageOptions: { globals: globals.node },
  },
  ...layerRules,
);
