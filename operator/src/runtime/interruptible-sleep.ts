/**
 * A sleep that stop() can cut short, so loops that wait between retries end promptly on
 * shutdown instead of finishing their back-off first.
 */
export class InterruptibleSleep {
  private wakeCurrent: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeCurrent = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Ends the current sleep now (no-op when nothing sleeps). */
  wake(): void {
    this.wakeCurrent?.();
  }
}
