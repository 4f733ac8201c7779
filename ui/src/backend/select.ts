// Picks the backend at startup:
// - inside Tauri → TauriBackend (unless `?mock`);
// - `?mock` or `?scenario=` → MockBackend (`?scenario=` picks a mock scenario);
// - a page served over http(s) by the hub → WebBackend, to the hub that served it;
// - the Vite dev server → MockBackend, or WebBackend with `?hub` (its proxy forwards
//   /connection/websocket to a hub, see vite.config.ts);
// - anything else (a file:// page) → MockBackend.
import { MockBackend, type MockScenario } from './mock';
import type { Backend } from './types';

const SCENARIOS: MockScenario[] = ['normal', 'empty', 'loading', 'reconnecting', 'failed-auth', 'failed', 'invalid', 'quiet'];

export interface PickEnv {
  /** `window` (or a stand-in in tests). */
  win: object;
  /** `location.search`. */
  search: string;
  /** `location.protocol` ("http:", "https:", "tauri:", "file:"). */
  protocol?: string;
  /** Served by the Vite dev server (`import.meta.env.DEV`). */
  dev?: boolean;
}

export type BackendChoice = { kind: 'tauri' } | { kind: 'web' } | { kind: 'mock'; scenario: MockScenario };

export function chooseBackend(env: PickEnv): BackendChoice {
  const q = new URLSearchParams(env.search);
  const inTauri = '__TAURI_INTERNALS__' in env.win;
  if (inTauri && !q.has('mock')) return { kind: 'tauri' };
  const s = q.get('scenario') as MockScenario | null;
  const mock = { kind: 'mock', scenario: s && SCENARIOS.includes(s) ? s : 'normal' } as const;
  if (inTauri || q.has('mock') || q.has('scenario')) return mock;
  const overHttp = env.protocol === 'http:' || env.protocol === 'https:';
  if (overHttp && (!env.dev || q.has('hub'))) return { kind: 'web' };
  return mock;
}

export async function createBackend(env: PickEnv): Promise<Backend> {
  const choice = chooseBackend(env);
  if (choice.kind === 'tauri') {
    // Loaded lazily so the browser preview never touches the Tauri globals.
    const { TauriBackend } = await import('./tauri');
    return new TauriBackend();
  }
  if (choice.kind === 'web') {
    // Loaded lazily too: the desktop app never loads the SDK.
    const { pageWebBackend } = await import('./web-page');
    return pageWebBackend();
  }
  return new MockBackend({ autoStart: true, historySecs: 15 * 60, scenario: choice.scenario });
}
