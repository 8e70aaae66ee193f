/**
 * For the crash and fault tests only: with RDW_BACKFILL_TEST_PAUSE=<point>[#n][@ms], the process
 * stops the n-th time (default: the first) it reaches that point and says so on stderr. Without
 * `@ms` it waits to be killed, so that a test can kill it exactly there; with `@ms` it goes on
 * after that many milliseconds, so that a test can break a server or a session meanwhile.
 * Points: extract-start (the warehouse sessions open, no query sent), extract (a part half
 * written), load (a COPY under way), merge (inside the replace transaction, after the DELETE).
 */
import type { PausePoint } from "../steps/context.js";

const reached = new Map<string, number>();

export async function pausePoint(point: PausePoint): Promise<void> {
  const wanted = process.env.RDW_BACKFILL_TEST_PAUSE;
  if (!wanted) return;
  const match = /^([a-z-]+)(?:#(\d+))?(?:@(\d+))?$/.exec(wanted);
  if (!match || match[1] !== point) return;
  const count = (reached.get(point) ?? 0) + 1;
  reached.set(point, count);
  if (count !== Number(match[2] ?? "1")) return;
  process.stderr.write(`rdw-backfill: test pause at ${wanted}\n`);
  if (match[3] !== undefined) {
    await new Promise<void>((resolve) => setTimeout(resolve, Number(match[3])));
    process.stderr.write(`rdw-backfill: test pause at ${wanted} is over\n`);
    return;
  }
  await new Promise<void>(() => setInterval(() => undefined, 60_000));
}
