import typescript from '@rollup/plugin-typescript';
import terser from '@rollup/plugin-terser';
import resolve from '@rollup/plugin-node-resolve';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Publishes the Subresource Integrity hash of the IIFE with each build, in
 * dist/integrity.json, for sites that load the script with `integrity`.
 */
const integrity = {
  name: 'integrity',
  writeBundle({ file }) {
    const hash = 'sha384-' + createHash('sha384').update(readFileSync(file)).digest('base64');
    writeFileSync('dist/integrity.json', JSON.stringify({ 'firstparty.min.js': hash }, null, 2) + '\n');
  },
};

const terserOptions = {
  ecma: 2020,
  compress: { passes: 3, pure_getters: true, unsafe_arrows: true },
  mangle: true,
  format: { comments: false },
};

/**
 * The IIFE's internal property names (the parts' methods, state and injected
 * dependencies, never read by a page, the snippet, a browser API or the
 * collector), which terser may shorten: 245 B brotli (11,738 B without).
 * `builtins: true` lets it shorten the ones terser's DOM list also holds
 * (`hide`, `show`, `release`, `forget`, `added`, `waiting`): the regex alone
 * decides. So each name here must stay one that no browser API, public
 * method, option, `on()` detail or payload field uses. `queue` and `fetch`
 * are createFirstparty()'s dependencies, which the IIFE never takes from
 * outside (the ES module, unmangled, does); `at`, `ok`, `options`, `domain`
 * are also names of browser APIs this script never reads (Array's `at`,
 * Response's `ok`, a select's `options`, document's `domain`): one that it
 * reads must leave this list.
 */
const internalProperties = /^(unsent|carried|waiting|handOver|reclaim|rescue|sweep|written|forget|failing|due|outbox|courier|handover|added|tried|handed|express|received|stored|schedule|later|online|fail|hide|show|release|hold|blocks|recording|mayLeave|report|reach|tabId|nextKey|spill|era|others|limits|endpoint|keep|emit|retryAfter|profileId|sessionId|setProfileId|setProfile|identity|store|read|bytes|mark|json|time|done|middlewares|callback|allow|stop|start|_replay|any|queue|options|fetch|domain|ok|at)$/;

export default [
  // The snippet pasted into pages (no imports; ES output adds no wrapper), with
  // and without the fast-bounce beacon fallback.
  ...[
    ['dist/snippet.min.js', true],
    ['dist/snippet-lite.min.js', false],
  ].map(([file, fallback]) => ({
    input: 'src/snippet/snippet.ts',
    output: {
      file,
      format: 'es',
      plugins: [terser({ ...terserOptions, toplevel: true, compress: { ...terserOptions.compress, global_defs: { BOUNCE_FALLBACK: fallback } } })],
    },
    plugins: [typescript({ declaration: false, declarationDir: undefined, outDir: 'dist' })],
  })),
  // The IIFE the snippet loads from /js/firstparty.min.js.
  {
    input: 'src/iife.ts',
    // unsafe_proto: `[].slice` for `Array.prototype.slice` (the same function; 5 B).
    // sourcemap 'hidden': dist/firstparty.min.js.map is written, but the script does not name it
    // (`//# sourceMappingURL=…` was 26 B brotli that every visitor downloads and only DevTools
    // reads): a server names it with a `SourceMap` header (the demo collector does), or DevTools'
    // "Add source map…" loads it.
    output: { file: 'dist/firstparty.min.js', format: 'iife', sourcemap: 'hidden', plugins: [terser({ ...terserOptions, compress: { ...terserOptions.compress, unsafe_proto: true }, mangle: { properties: { regex: internalProperties, builtins: true } } })] },
    plugins: [resolve(), typescript({ declaration: false, declarationDir: undefined, outDir: 'dist' }), integrity],
  },
  // The ES module for bundler users, with types.
  {
    input: 'src/index.ts',
    output: { file: 'dist/firstparty.mjs', format: 'es', sourcemap: true },
    external: ['idb-keyval'],
    plugins: [typescript({ outDir: 'dist', declaration: true, declarationDir: 'dist' })],
  },
];
