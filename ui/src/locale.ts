// WebKitGTK reports `navigator.language` as "C" when the process runs with
// LANG=C (servers, CI, minimal desktops). "C" is not a BCP 47 tag, and uPlot
// builds an Intl.NumberFormat from it when its module loads, which throws and
// stops the whole UI. This module is imported first and swaps in a valid tag.

export function usableLanguage(language: string | undefined): string {
  if (!language) return 'en-US';
  try {
    new Intl.NumberFormat(language);
    return language;
  } catch {
    return 'en-US';
  }
}

if (typeof navigator !== 'undefined') {
  const language = usableLanguage(navigator.language);
  if (language !== navigator.language) {
    Object.defineProperty(navigator, 'language', { value: language, configurable: true });
    Object.defineProperty(navigator, 'languages', { value: [language], configurable: true });
  }
}
