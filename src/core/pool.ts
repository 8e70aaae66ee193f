/**
 * Calls `work` on each item in order, on at most `limit` items at once. When a call throws, no
 * further item is started; the calls under way are awaited, then the first error is thrown (the
 * caller's clean-up must not run while work is still going on).
 */
export async function forEachAtMost<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (errors.length === 0 && next < items.length) {
      const item = items[next++]!;
      await work(item).catch((error: unknown) => void errors.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(limit, 1), items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}
