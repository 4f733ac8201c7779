// Picks the backend at startup: inside Tauri → TauriBackend, unless `?mock` is given;
// in a plain browser → MockBackend (preview). `?scenario=` picks a mock scenario.
import { MockBackend, type MockScenario } from './mock';
import type { Backend } from './types';

const SCENARIOS: MockScenario[] = ['normal', 'empty', 'loading', 'reconnecting', 'failed-auth', 'failed', 'invalid', 'quiet'];

export interface PickEnv {
  /** `window` (or a stand-in in tests). */
  win: object;
  /** `location.search`. */
  search: string;
}

export type BackendChoice = { kind: 'tauri' } | { kind: 'mock'; scenario: MockScenario };

export function chooseBackend(env: PickEnv): BackendChoice {
  const q = new URLSearchParams(env.search);
  const inTauri = '__TAURI_INTERNALS__' in env.win;
  if (inTauri && !q.has('mock')) return { kind: 'tauri' };
  const s = q.get('scenario') as MockScenario | null;
  return { kind: 'mock', scenario: s && SCENARIOS.includes(s) ? s : 'normal' };
}

export async function createBackend(env: PickEnv): Promise<Backend> {
  const choice = chooseBackend(env);
  if (choice.kind === 'tauri') {
    // Loaded lazily so the browser preview never touches the Tauri globals.
    const { TauriBackend } = await import('./tauri');
    return new TauriBackend();
  }
  return new MockBackend({ autoStart: true, historySecs: 15 * 60, scenario: choice.scenario });
}
