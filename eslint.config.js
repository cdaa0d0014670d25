// ESLint (flat config) with typescript-eslint's type-aware rules: `npm run lint`.
// Rules are chosen for the bugs they catch (floating promises, misused promises, unsafe
// narrowing), not for style: Prettier owns the formatting (`npm run format`).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/', 'protocol/src/types.gen.ts', 'protocol/vectors/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The bugs worth a linter in this code base: a promise nobody awaits or handles.
      // tap's `t.test(…)` returns a promise that tap itself awaits: a known safe call.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: ['@tapjs/core', '@tapjs/test', 'tap'].map((pkg) => ({
            from: 'package',
            package: pkg,
            name: ['test', 'skip', 'todo', 'only'],
          })),
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'off',
      // The code base writes `list[i]!` on purpose (safe under noUncheckedIndexedAccess, which it may turn on).
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // A switch over a union without a default must name every member.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Interfaces here declare functions in method syntax and modules are destructured (`const { access } = await import(…)`): only noise.
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // Validated JSON and parsed wire data are `unknown` narrowed by hand; `any` from libraries is checked by tsc.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // A caught value re-thrown or passed on as a rejection is whatever was thrown: `unknown` is right there.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Case fields are `string | string[]` and print as the list they are; URLSearchParams prints its query.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowArray: true, allow: [{ from: 'lib', name: 'URLSearchParams' }] },
      ],
      // A variable bound once after the closures that read it (wiring order) stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Control characters in the regular expressions are deliberate (refusing them in ids).
      'no-control-regex': 'off',
      // tsc checks names (typescript-eslint's advice); the two JavaScript files run on Node only.
      'no-undef': 'off',
    },
  },
  {
    // Plain JavaScript (the launcher, this file): no type information.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
)
