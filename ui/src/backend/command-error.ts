// A command's error as the UI sees it, whichever backend ran the command: an Error whose
// message is for the user, with the `CommandError` code (and the hub's own code) to act on.
import type { CommandError } from './generated';

/** A command's error as an Error whose message is for the user; `code` says what failed. */
export class BackendError extends Error {
  constructor(
    message: string,
    readonly code?: CommandError['code'],
    readonly hubCode?: number,
  ) {
    super(message);
  }
}
