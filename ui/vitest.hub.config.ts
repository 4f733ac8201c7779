import { defineConfig } from 'vitest/config';

// The web backend against a real telltale-hub (`npm run test:hub`; `make test-js`): one hub
// per test file, files one after the other (they start processes and time reconnects).
// Node 20 has a global WebSocket (what the page uses) only with --experimental-websocket.
export default defineConfig({
  test: {
    include: ['src/**/*.hub.test.ts'],
    environment: 'node',
    pool: 'forks',
    poolOptions: { forks: { execArgv: ['--experimental-websocket'], singleFork: true } },
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
