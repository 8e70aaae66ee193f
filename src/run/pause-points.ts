/**
 * For the crash and concurrency tests only: with RDW_BACKFILL_TEST_PAUSE=<point>[#n], the
 * process stops the n-th time (default: the first) it reaches that point, says so on stderr and
 * waits to be killed, so that a test can kill it exactly there; with
 * RDW_BACKFILL_TEST_CONTINUE=<file> as well, it goes on once that file exists (a test holds a run
 * there while another runs). Points: extract (a part half written), load (a COPY under way),
 * merge (inside the replace transaction, after the DELETE).
 */
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { PausePoint } from "../steps/context.js";

const reached = new Map<string, number>();

export async function pausePoint(point: PausePoint): Promise<void> {
  const wanted = process.env.RDW_BACKFILL_TEST_PAUSE;
  if (!wanted) return;
  const [name, nth = "1"] = wanted.split("#");
  if (name !== point) return;
  const count = (reached.get(point) ?? 0) + 1;
  reached.set(point, count);
  if (count !== Number(nth)) return;
  process.stderr.write(`rdw-backfill: test pause at ${wanted}\n`);
  const until = process.env.RDW_BACKFILL_TEST_CONTINUE;
  if (until) {
    while (!existsSync(until)) await sleep(50);
    process.stderr.write(`rdw-backfill: test pause at ${wanted}: going on\n`);
    return;
  }
  await new Promise<void>(() => setInterval(() => undefined, 60_000));
}
