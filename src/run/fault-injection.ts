/**
 * For the crash tests only: with RDW_BACKFILL_TEST_PAUSE=<point>, the process stops at that
 * point, says so on stderr and waits to be killed, so that a test can kill it exactly there.
 * Points: extract (a part half written), load (a COPY under way), merge (inside the replace
 * transaction, after the DELETE).
 */
export async function pausePoint(point: "extract" | "load" | "merge"): Promise<void> {
  if (process.env.RDW_BACKFILL_TEST_PAUSE !== point) return;
  process.stderr.write(`rdw-backfill: test pause at ${point}\n`);
  await new Promise<void>(() => setInterval(() => undefined, 60_000));
}
