/**
 * Counts what a task produces — stdout, stderr and the files it creates or changes under
 * writable mounts — against `limits.maxOutputBytes`, at the moment it is written. Crossing the
 * cap throws `OutputLimitExceeded`, which unwinds the guest and ends the task.
 */
export class OutputLimitExceeded extends Error {
  constructor(readonly limit: number) {
    super(`The task wrote more than its output cap of ${limit} bytes (stdout + stderr + files).`);
    this.name = 'OutputLimitExceeded';
  }
}

export class OutputMeter {
  private used = 0;
  constructor(readonly limit: number) {}

  get bytes(): number {
    return this.used;
  }

  /** Adds `delta` bytes (negative when a file shrinks or is deleted). Throws past the cap. */
  charge(delta: number): void {
    const next = this.used + delta;
    if (delta > 0 && next > this.limit) throw new OutputLimitExceeded(this.limit);
    this.used = next;
  }
}
