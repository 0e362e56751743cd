/**
 * One writer per process: LanceDB makes a version per write and concurrent writers to one
 * table conflict, so every write (and compaction) runs through this queue, one at a time.
 */
export class WriteQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  /** `explain` turns a task's failure into the error its caller sees (a disk error in words). */
  constructor(private readonly explain: (e: unknown) => unknown = (e) => e) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(task, task).catch((e: unknown) => {
      throw this.explain(e);
    });
    this.tail = result.then(
      () => {
        this.pending--;
      },
      () => {
        this.pending--;
      },
    );
    return result;
  }

  /** Tasks queued or running. */
  get size(): number {
    return this.pending;
  }

  /** Resolves once everything queued so far has finished (successfully or not). */
  async drain(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }
}
