import { objectKey, type KubeObject } from './resource.js';

/** Maps an object to the values it is indexed under (e.g. owner uid, referenced pool names). */
export type IndexFunc<T> = (obj: T) => string[];

/**
 * The informer's cache: objects by namespace/name plus secondary indexes, like client-go's
 * thread-safe store + indexer (JS is single-threaded, so no locks). Named "cache" so it is not
 * confused with the MongoDB history store in operator/src/store/.
 */
export class Cache<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexFuncs = new Map<string, IndexFunc<T>>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.addIndexer('namespace', (o) => [o.metadata.namespace ?? '']);
    for (const [name, fn] of Object.entries(indexers)) this.addIndexer(name, fn);
  }

  /**
   * Adds a secondary index (at any time: existing objects are indexed at once). Controllers that
   * share this cache may register the same index twice with the same function; a different
   * function under a taken name is an error, as in client-go.
   */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    const existing = this.indexFuncs.get(name);
    if (existing === fn) return;
    if (existing) throw new Error(`indexer ${name} already exists with a different function`);
    this.indexFuncs.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.indexes.set(name, index);
    for (const [key, obj] of this.items) this.addToIndex(index, fn, key, obj);
  }

  get size(): number {
    return this.items.size;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.items.values()];
    return this.byIndex('namespace', namespace);
  }

  hasIndexer(name: string): boolean {
    return this.indexFuncs.has(name);
  }

  byIndex(indexName: string, value: string): T[] {
    const index = this.indexes.get(indexName);
    if (!index) throw new Error(`no index named ${indexName}`);
    const keys = index.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.items.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** Inserts or replaces; returns the previous object. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old) this.removeFromIndexes(key, old);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexFuncs) this.addToIndex(this.indexes.get(name)!, fn, key, obj);
    return old;
  }

  remove(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.removeFromIndexes(key, old);
    this.items.delete(key);
    return old;
  }

  private addToIndex(index: Map<string, Set<string>>, fn: IndexFunc<T>, key: string, obj: T): void {
    for (const v of fn(obj)) {
      let set = index.get(v);
      if (!set) index.set(v, (set = new Set()));
      set.add(key);
    }
  }

  private removeFromIndexes(key: string, obj: T): void {
    for (const [name, fn] of this.indexFuncs) {
      const index = this.indexes.get(name)!;
      for (const v of fn(obj)) {
        const set = index.get(v);
        if (!set) continue;
        set.delete(key);
        if (set.size === 0) index.delete(v);
      }
    }
  }
}

/** Index name for "objects controlled by owner uid". */
export const BY_OWNER_UID = 'ownerUid';
export function byOwnerUid(obj: KubeObject): string[] {
  return (obj.metadata.ownerReferences ?? []).map((r) => r.uid);
}
