// ESLint flat config: typescript-eslint with type information (the project's tsconfig.json), so
// rules such as no-floating-promises see real types. Formatting is prettier's job (.prettierrc).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // miner/native/wasm/ is AssemblyScript (i32, v128, @inline on functions): not TypeScript a TS parser accepts;
  // asc type-checks it when scripts/build-wasm.mjs compiles it. build/ holds generated output.
  { ignores: ['node_modules/', 'dist/', 'build/', '.cache/', 'coverage/', 'bench/results/', '.tmp/', 'miner/native/wasm/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_`-prefixed names are deliberately unused (destructuring to drop a field, ignored params).
      // Async functions that satisfy a Promise-returning interface without awaiting are fine.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests and benches read raw API JSON (`Any` views of objects the API server returned); the
    // source keeps the unsafe-any rules.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/unbound-method': 'off',
      'preserve-caught-error': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
  },
);
