// Must stay first: it fixes navigator.language before uPlot reads it.
import './locale';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { App } from './app';
import { createBackend } from './backend/select';

async function boot(): Promise<void> {
  const root = document.getElementById('app');
  if (!root) throw new Error('#app missing');
  try {
    const backend = await createBackend({ win: window, search: location.search, protocol: location.protocol, dev: import.meta.env.DEV });
    const app = new App(root, backend);
    // Handy for end-to-end tests and the devtools console.
    (window as unknown as { __telltale?: App }).__telltale = app;
    await app.start();
  } catch (e) {
    root.className = 'boot error';
    root.textContent = `Telltale could not start: ${e instanceof Error ? e.message : String(e)}`;
    console.error(e);
  }
}

void boot();
