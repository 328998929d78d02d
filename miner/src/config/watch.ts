/**
 * Watches a file by polling its stat (and content). Polling survives what Kubernetes does to
 * mounted ConfigMaps (atomic symlink swaps) where inotify watches on the old inode go silent.
 */
import { readFile, stat } from 'node:fs/promises';

export class FileWatcher {
  private timer: NodeJS.Timeout | null = null;
  private last: string | null = null;
  private busy = false;

  constructor(
    private readonly path: string,
    private readonly intervalMs: number,
    private readonly onChange: (text: string | null, err?: Error) => void,
  ) {}

  async start(initial?: string): Promise<void> {
    this.last = initial ?? (await this.read()).text;
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  private async read(): Promise<{ text: string | null; err?: Error }> {
    try {
      await stat(this.path);
      return { text: await readFile(this.path, 'utf8') };
    } catch (e) {
      return { text: null, err: e as Error };
    }
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { text, err } = await this.read();
      if (text !== this.last) {
        this.last = text;
        this.onChange(text, err);
      }
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
