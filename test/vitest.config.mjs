import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// Lives in test/ so the top level stays as the design card gives it.
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.{ts,mjs}'],
    // Unit tests default to happy-dom; demo/browser tests opt into node with
    // a `// @vitest-environment node` docblock.
    environment: 'happy-dom',
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/globalSetup.mjs'],
    // Browser suites start Chromium and servers; 2-core CI machines need room.
    testTimeout: 20_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
