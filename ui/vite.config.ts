/// <reference types="node" />
import { configDefaults, defineConfig } from 'vitest/config';

// `npm run dev` with `?hub` and `npm run preview` run the web backend against a hub: its
// WebSocket endpoint is forwarded there (TELLTALE_HUB_URL, default the `make run` hub), with
// the Host and Origin of the hub itself, as if the hub had served the page.
const hub = process.env.TELLTALE_HUB_URL ?? 'http://127.0.0.1:8000';
const hubProxy = {
  '/connection/websocket': {
    target: hub,
    ws: true,
    changeOrigin: true,
    configure: (proxy: { on(event: 'proxyReqWs', cb: (req: { setHeader(name: string, value: string): void }) => void): void }) =>
      proxy.on('proxyReqWs', (req) => req.setHeader('Origin', new URL(hub).origin)),
  },
};

// Tauri serves ui/dist from a custom protocol, so asset paths must be relative.
export default defineConfig({
  base: './',
  clearScreen: false,
  server: { host: '127.0.0.1', port: 5173, strictPort: true, proxy: hubProxy },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true, proxy: hubProxy },
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
