// The settings contract: the types are generated from src-tauri/src/settings (see
// generated.ts); here the `SettingsBackend` the settings view talks to, over Tauri or in memory.
import type { FieldProblem, Settings, SettingsView, TokenStore } from './generated';

export type {
  FieldProblem,
  NotifyPrefs,
  ServerEntry,
  Settings,
  SettingsError,
  SettingsView,
  SeveritySounds,
  Snooze,
  Theme,
  TokenSource,
  TokenStore,
} from './generated';

/** A refused `settings_set`: one message per field (none when saving itself failed). */
export class SettingsRejected extends Error {
  constructor(
    message: string,
    readonly problems: FieldProblem[],
  ) {
    super(message);
    this.name = 'SettingsRejected';
  }
}

export interface SettingsBackend {
  settingsGet(): Promise<SettingsView>;
  /** Rejects with a `SettingsRejected`. */
  settingsSet(settings: Settings): Promise<SettingsView>;
  /** Saved settings (from this window or another); returns an unsubscribe function. */
  onSettingsChanged(cb: (settings: Settings) => void): () => void;
}

export const SETTINGS_COMMANDS = { get: 'settings_get', set: 'settings_set' } as const;
export const SETTINGS_CHANGED = 'settings-changed';

export function defaultSettings(): Settings {
  return {
    servers: [],
    embedded: true,
    chartWindowSecs: 300,
    theme: 'dark',
    notifications: {
      minSeverity: 'info',
      mutedSources: [],
      mutedServers: [],
      dndUntil: null,
      criticalBreaksDnd: true,
      sounds: { critical: '', warning: '', info: '' },
      repeatMins: null,
      flapHoldSecs: 60,
      snoozes: [],
    },
    closeToTray: true,
    autostart: false,
    startHidden: false,
  };
}

/** A `settings_set` error as it arrives over IPC: `{problems, message}` or a string. */
export function toRejected(e: unknown): SettingsRejected {
  if (e instanceof SettingsRejected) return e;
  if (typeof e === 'string') return new SettingsRejected(e, []);
  if (e && typeof e === 'object') {
    const o = e as { message?: unknown; problems?: unknown };
    const problems = Array.isArray(o.problems)
      ? o.problems.filter((p): p is FieldProblem => !!p && typeof p.field === 'string' && typeof p.message === 'string')
      : [];
    const message = typeof o.message === 'string' ? o.message : problems.map((p) => p.message).join(' ');
    return new SettingsRejected(message || 'The settings could not be saved.', problems);
  }
  return new SettingsRejected(String(e), []);
}

/** Over the Tauri shell. */
export class TauriSettingsBackend implements SettingsBackend {
  async settingsGet(): Promise<SettingsView> {
    const { invoke } = await import('@tauri-apps/api/core');
    return invoke<SettingsView>(SETTINGS_COMMANDS.get);
  }

  async settingsSet(settings: Settings): Promise<SettingsView> {
    const { invoke } = await import('@tauri-apps/api/core');
    try {
      return await invoke<SettingsView>(SETTINGS_COMMANDS.set, { settings });
    } catch (e) {
      throw toRejected(e);
    }
  }

  onSettingsChanged(cb: (settings: Settings) => void): () => void {
    let stop: (() => void) | null = null;
    let stopped = false;
    void import('@tauri-apps/api/event').then(({ listen }) =>
      listen<Settings>(SETTINGS_CHANGED, (e) => cb(e.payload)).then((un) => {
        if (stopped) un();
        else stop = un;
      }),
    );
    return () => {
      stopped = true;
      stop?.();
    };
  }
}

/** In memory, for the browser preview and tests: validates a little like the shell does. */
export class MemorySettingsBackend implements SettingsBackend {
  private settings: Settings;
  private readonly listeners = new Set<(s: Settings) => void>();
  /** Held tokens by server id (never returned). */
  readonly tokens = new Map<string, string>();

  constructor(
    initial: Settings = defaultSettings(),
    private readonly problem: string | null = null,
    private readonly tokenStore: TokenStore = 'file',
    /** Where the view says the settings are saved. */
    private readonly configPath: string = '(preview: not saved)',
  ) {
    this.settings = structuredClone(initial);
  }

  private view(): SettingsView {
    const settings = structuredClone(this.settings);
    for (const s of settings.servers) {
      if (s.token.kind === 'fixed') s.token = s.temporary ? { kind: 'fixed' } : { kind: 'fixed', stored: this.tokenStore };
    }
    return { settings, problem: this.problem, tokenStore: this.tokenStore, configPath: this.configPath };
  }

  async settingsGet(): Promise<SettingsView> {
    return this.view();
  }

  async settingsSet(next: Settings): Promise<SettingsView> {
    const { validate } = await import('../data/settings');
    const problems = validate(next, (id) => this.tokens.has(id));
    if (problems.length) throw new SettingsRejected(problems.map((p) => p.message).join(' '), problems);
    const copy = structuredClone(next);
    for (const s of copy.servers) {
      if (s.token.kind !== 'fixed') {
        this.tokens.delete(s.id);
        continue;
      }
      if (s.token.value) this.tokens.set(s.id, s.token.value.trim());
      s.token = { kind: 'fixed', stored: this.tokenStore };
    }
    this.settings = copy;
    const view = this.view();
    for (const cb of this.listeners) cb(structuredClone(view.settings));
    return view;
  }

  onSettingsChanged(cb: (settings: Settings) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
}
