// What the main area shows when there is no source to draw yet: loading, the hub
// unreachable or refusing us, the catalog failing, or simply nothing publishing.
import { connectionView } from '../data/connection';
import type { Model } from '../model';
import { h } from './dom';

export type StateKey = 'none' | 'loading' | 'failed' | 'reconnecting' | 'error' | 'empty';

/** The state to show, or 'none' when there are sources. */
export function stateKey(m: Model): StateKey {
  if (m.metrics.sources().length > 0) return 'none';
  const c = m.connection;
  if (c?.state === 'failed') return 'failed';
  if (c?.state === 'reconnecting') return 'reconnecting';
  if (m.catalogStatus === 'loading' || !c || c.state === 'connecting') return 'loading';
  if (m.catalogStatus === 'error') return 'error';
  return 'empty';
}

export class StatePanel {
  readonly el: HTMLElement;
  private shownKey = '';

  constructor(private readonly model: Model) {
    this.el = h('main', { class: 'dash-state hidden' });
  }

  /** Shows the state's message; returns whether anything is shown. */
  refresh(): boolean {
    const m = this.model;
    const key = stateKey(m);
    this.el.classList.toggle('hidden', key === 'none');
    const detailKey = `${key}|${m.catalogError}|${m.connection?.reason ?? ''}|${m.connection?.state ?? ''}`;
    if (detailKey === this.shownKey) return key !== 'none';
    this.shownKey = detailKey;
    this.el.dataset.state = key;
    this.el.replaceChildren();
    switch (key) {
      case 'loading':
        this.el.append(
          h('div', { class: 'state-msg' }, h('div', { class: 'spinner' }), h('h2', {}, 'Loading sources…'), h('p', {}, 'Connecting to the hub and asking which sources publish metrics.')),
          h('div', { class: 'skeleton-grid' }, ...[0, 1, 2, 3].map(() => h('div', { class: 'card skeleton' }, h('div', { class: 'sk-title' }), h('div', { class: 'sk-body' })))),
        );
        break;
      case 'failed': {
        const v = connectionView(m.connection, m.connectionAt, m.now());
        const auth = v.text === 'Authentication failed';
        // Only a backend the user can hand a token to (a page served by the hub) offers the field.
        const form = auth ? tokenForm(m) : null;
        const hint = form
          ? 'The hub refused the connection or its token. Paste a token it accepts (its admin mints one with telltale-hub token --user NAME); it is kept in this tab only.'
          : auth
            ? 'The hub refused the token. Give it a valid token in Settings (or start Telltale with a valid --token); it will not retry on its own.'
            : `Server: ${m.connection?.server ?? ''}`;
        this.el.append(
          h(
            'div',
            { class: 'state-msg error' },
            h('div', { class: 'state-icon' }, '!'),
            h('h2', {}, v.text),
            h('p', {}, m.connection?.reason ?? ''),
            h('p', { class: 'muted' }, hint),
            form,
          ),
        );
        break;
      }
      case 'reconnecting':
        this.el.append(
          h(
            'div',
            { class: 'state-msg' },
            h('div', { class: 'spinner' }),
            h('h2', {}, 'Waiting for the hub'),
            h('p', {}, m.connection?.reason ?? 'The connection dropped.'),
            h('p', { class: 'muted' }, `Telltale keeps retrying ${m.connection?.server ?? ''}; the countdown is at the top right.`),
          ),
        );
        break;
      case 'error':
        this.el.append(
          h(
            'div',
            { class: 'state-msg error' },
            h('div', { class: 'state-icon' }, '!'),
            h('h2', {}, 'Could not load the catalog'),
            h('p', {}, m.catalogError),
            h('button', { class: 'btn', type: 'button', onclick: () => void m.loadCatalog() }, 'Retry'),
          ),
        );
        break;
      case 'empty':
        this.el.append(
          h(
            'div',
            { class: 'state-msg' },
            h('div', { class: 'state-icon calm' }, '∅'),
            h('h2', {}, 'No metric sources yet'),
            h('p', {}, 'Charts appear as soon as something publishes on a metrics:<source> channel.'),
            h('p', { class: 'muted' }, 'The built-in collector publishes this machine’s CPU, memory, network and disk every second; a remote hub needs a producer (HTTP /api/publish).'),
          ),
        );
        break;
    }
    return key !== 'none';
  }
}

/** The token field of the failed-authentication state, when the backend can take a token. */
function tokenForm(m: Model): HTMLElement | null {
  const useToken = m.backend.useToken?.bind(m.backend);
  if (!useToken) return null;
  const input = h('input', { class: 'token-input', type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false', placeholder: 'Paste a token', 'aria-label': 'Token' }) as HTMLInputElement;
  const error = h('p', { class: 'token-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'token-form' },
    input,
    h('button', { class: 'btn', type: 'submit' }, 'Connect'),
  ) as HTMLFormElement;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.textContent = '';
    useToken(input.value).then(
      () => (input.value = ''),
      (err: unknown) => (error.textContent = err instanceof Error ? err.message : String(err)),
    );
  });
  return h('div', { class: 'token-box' }, form, error);
}
