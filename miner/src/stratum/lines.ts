/**
 * Splits a byte stream into lines with a hard cap on line length: an over-long line is discarded
 * up to its newline (reported once), so a hostile pool cannot make us buffer without bound.
 */
export class LineSplitter {
  private buf = '';
  private discarding = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onTooLong: (bytesSeen: number) => void,
  ) {}

  push(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl === -1) break;
      const piece = chunk.slice(start, nl);
      start = nl + 1;
      if (this.discarding) {
        this.discarding = false;
        this.buf = '';
        continue;
      }
      const line = this.buf + piece;
      this.buf = '';
      if (line.length > this.maxBytes) {
        this.onTooLong(line.length);
        continue;
      }
      const trimmed = line.replace(/\r$/, '');
      if (trimmed.trim().length > 0) this.onLine(trimmed);
    }
    if (this.discarding) return;
    this.buf += chunk.slice(start);
    if (this.buf.length > this.maxBytes) {
      this.onTooLong(this.buf.length);
      this.buf = '';
      this.discarding = true;
    }
  }

  reset(): void {
    this.buf = '';
    this.discarding = false;
  }
}
