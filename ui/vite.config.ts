import { configDefaults, defineConfig } from 'vitest/config';

// Tauri serves ui/dist from a custom protocol, so asset paths must be relative.
export default defineConfig({
  base: './',
  clearScreen: false,
  server: { host: '127.0.0.1', port: 5173, strictPort: true },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2021',
    sourcemap: false,
  },
  test: {
    include: ['src/**/*.test.ts'],
    // Against a real hub: `npm run test:hub` (vitest.hub.config.ts).
    exclude: [...configDefaults.exclude, 'src/**/*.hub.test.ts'],
    environment: 'node',
    pool: 'threads',
    poolOptions: { threads: { maxThreads: 2, minThreads: 1 } },
  },
});
