// The web backend as a page the hub served builds it: the endpoint from the page's own
// address, the token from the fragment into sessionStorage, snoozes in localStorage,
// notifications through the page's Notifications API (permission asked on a click).
import { pageNotifications } from './browser-notes';
import type { KeyValueStorage } from './snooze-store';
import { WebBackend, hubEndpoint } from './web';
import { StoredToken, takeTokenFromFragment } from './web-token';

/** A Web Storage area, or null where the browser refuses it (some private modes throw). */
function storageArea(name: 'localStorage' | 'sessionStorage'): KeyValueStorage | null {
  try {
    return window[name];
  } catch {
    return null;
  }
}

export function pageWebBackend(): WebBackend {
  const tokens = new StoredToken(storageArea('sessionStorage'));
  takeTokenFromFragment(
    {
      hash: location.hash,
      pathname: location.pathname,
      search: location.search,
      replaceState: (url) => history.replaceState(history.state, '', url),
    },
    tokens,
  );
  return new WebBackend({
    endpoint: hubEndpoint(location),
    serverName: location.host,
    tokens,
    storage: storageArea('localStorage'),
    notifications: pageNotifications(),
    gestureTarget: document,
    focus: () => window.focus(),
  });
}
