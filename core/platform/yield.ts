/** Lets the event loop run pending I/O (e.g. webhook acks) before a long job goes on. */
export function yieldToLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
