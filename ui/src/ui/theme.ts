// The colour scheme: `data-theme` on <html> selects the palette of theme.css ("system" follows
// the desktop through prefers-color-scheme).
import type { Theme } from '../backend/settings';
import '../theme.css';

export function applyTheme(theme: Theme, root: HTMLElement = document.documentElement): void {
  if (root.dataset.theme !== theme) root.dataset.theme = theme;
}
