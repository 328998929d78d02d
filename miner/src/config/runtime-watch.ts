/**
 * Sources of the live channel (runtime.json): a file, or the fleet's runtime ConfigMap watched
 * through the Kubernetes API (list, then watch from the list's resourceVersion; on any end of the
 * watch — timeout, 410 Gone, API server restart — back off and list again, so no update is lost).
 */
import { CoreV1Api, KubeConfig, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { FileWatcher } from './watch.js';
import { parseRuntimeState, type RuntimeState } from './runtime.js';
import type { RuntimeChannel } from './schema.js';

export type RuntimeListener = (state: RuntimeState) => void;

export interface RuntimeSource {
  start(): Promise<void>;
  stop(): void;
}

export function createRuntimeSource(channel: RuntimeChannel, log: Logger, onState: RuntimeListener, onError: (msg: string) => void): RuntimeSource {
  if ('file' in channel) return new FileRuntimeSource(channel.file.path, log, onState, onError);
  return new KubeRuntimeSource(channel.kubernetes.namespace, channel.kubernetes.configMapName, channel.kubernetes.key, log, onState, onError);
}

export class FileRuntimeSource implements RuntimeSource {
  private watcher: FileWatcher;

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    private readonly onState: RuntimeListener,
    private readonly onError: (msg: string) => void,
  ) {
    this.watcher = new FileWatcher(path, 100, (text) => this.handle(text));
  }

  private handle(text: string | null): void {
    if (text === null) {
      this.log.warn({ path: this.path }, 'runtime file missing; keeping current pool');
      return;
    }
    try {
      this.onState(parseRuntimeState(text));
    } catch (e) {
      this.onError(`runtime file ${this.path}: ${(e as Error).message}`);
    }
  }

  async start(): Promise<void> {
    await this.watcher.start('');
  }

  stop(): void {
    this.watcher.stop();
  }
}

export class KubeRuntimeSource implements RuntimeSource {
  private readonly kc = new KubeConfig();
  private core!: CoreV1Api;
  private abort: AbortController | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private lastText: string | null = null;

  constructor(
    private readonly namespace: string,
    private readonly name: string,
    private readonly key: string,
    private readonly log: Logger,
    private readonly onState: RuntimeListener,
    private readonly onError: (msg: string) => void,
  ) {}

  async start(): Promise<void> {
    this.kc.loadFromDefault(); // KUBECONFIG when set, else in-cluster service account
    this.core = this.kc.makeApiClient(CoreV1Api);
    void this.cycle();
  }

  private handle(cm: V1ConfigMap | undefined): void {
    if (!cm) return;
    const text = cm.data?.[this.key];
    if (text === undefined) {
      if (this.lastText !== null) this.onError(`runtime ConfigMap ${this.namespace}/${this.name} has no key '${this.key}'`);
      this.lastText = null;
      return;
    }
    if (text === this.lastText) return;
    this.lastText = text;
    try {
      this.onState(parseRuntimeState(text));
    } catch (e) {
      this.onError(`runtime ConfigMap ${this.namespace}/${this.name} key '${this.key}': ${(e as Error).message}`);
    }
  }

  private async cycle(): Promise<void> {
    if (this.stopped) return;
    const fieldSelector = `metadata.name=${this.name}`;
    try {
      const list = await this.core.listNamespacedConfigMap({ namespace: this.namespace, fieldSelector });
      this.handle(list.items[0]);
      const rv = list.metadata?.resourceVersion;
      this.abort = await new Watch(this.kc).watch(
        `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/configmaps`,
        { fieldSelector, allowWatchBookmarks: true, ...(rv ? { resourceVersion: rv } : {}) },
        (phase, obj: V1ConfigMap) => {
          this.failures = 0;
          if (phase === 'ADDED' || phase === 'MODIFIED') this.handle(obj);
          else if (phase === 'ERROR') this.log.warn({ status: (obj as { message?: string }).message }, 'runtime watch error event; relisting');
        },
        (err: unknown) => this.retry(err),
      );
    } catch (e) {
      this.retry(e);
    }
  }

  private retry(err: unknown): void {
    if (this.stopped || this.retryTimer) return;
    this.abort = null;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(this.failures, 6)) * (0.5 + Math.random() / 2);
    this.failures++;
    if (err) this.log.warn({ err, delayMs: Math.round(delay) }, 'runtime ConfigMap watch ended; relisting');
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        void this.cycle();
      },
      err ? delay : 200,
    );
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.abort?.abort();
  }
}
