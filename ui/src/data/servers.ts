// Several hubs feed one window. Inside the UI a source or an alarm is known by a key that
// holds its hub's id and its own name, so `web1` on two hubs is two sources; what is shown
// is the name, with the hub's name beside it whenever more than one hub is in the list.

/** Between the hub id and the name in a key; never part of either (a control character). */
const SEP = '\u001f';

/** The key of `name` (a source, or an alarm id) on hub `server`. */
export function qualify(server: string, name: string): string {
  return `${server}${SEP}${name}`;
}

/** The hub id and the name of a key; a key without a hub is all name. */
export function splitKey(key: string): { server: string; name: string } {
  const i = key.indexOf(SEP);
  return i < 0 ? { server: '', name: key } : { server: key.slice(0, i), name: key.slice(i + 1) };
}

/** The name part of a key (what the hub calls it). */
export function nameOf(key: string): string {
  return splitKey(key).name;
}

/** The hub id of a key. */
export function serverOf(key: string): string {
  return splitKey(key).server;
}

/** Names of the hubs in the list, by id, in list order. */
export class ServerNames {
  private readonly names = new Map<string, string>();

  set(id: string, name: string): boolean {
    if (this.names.get(id) === name) return false;
    this.names.set(id, name);
    return true;
  }

  delete(id: string): boolean {
    return this.names.delete(id);
  }

  has(id: string): boolean {
    return this.names.has(id);
  }

  ids(): string[] {
    return [...this.names.keys()];
  }

  /** The hub's name, or its id when unknown. */
  name(id: string): string {
    return this.names.get(id) ?? id;
  }

  /** More than one hub: everything says which one it comes from. */
  get several(): boolean {
    return this.names.size > 1;
  }

  /** The hub's name for a key when several hubs are listed, else ''. */
  serverLabel(key: string): string {
    return this.several ? this.name(serverOf(key)) : '';
  }

  /** `web1`, or `web1 · Staging` when several hubs are listed. */
  label(key: string): string {
    const server = this.serverLabel(key);
    return server ? `${nameOf(key)} · ${server}` : nameOf(key);
  }
}
