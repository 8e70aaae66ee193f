/**
 * For the crash, fault and concurrency tests only: with RDW_BACKFILL_TEST_PAUSE=<point>[#n][@ms],
 * the process stops the n-th time (default: the first; `#*`: every time, so that each of the
 * tenants run at once stops there) it reaches that point and says so on stderr. Without more it
 * waits to be killed, so that a test can kill it exactly there; with `@ms` it goes on after that
 * many milliseconds, so that a test can break a server or a session meanwhile; with
 * RDW_BACKFILL_TEST_CONTINUE=<file> it goes on once that file exists (a test holds a run there
 * while another runs). Several points may be given, separated by commas (`merge#*,extract-start#2`:
 * one tenant stops in its replace, the next in its extract). Points: extract-start (the
 * warehouse sessions open, no query sent), extract (a part half written), load (a COPY under
 * way), merge (inside the replace transaction, after the DELETE).
 */
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { PausePoint } from "../steps/context.js";

const reached = new Map<string, number>();

export async function pausePoint(point: PausePoint): Promise<void> {
  const wanted = process.env.RDW_BACKFILL_TEST_PAUSE?.split(",").find(
    (entry) => /^[a-z-]+/.exec(entry)?.[0] === point,
  );
  if (!wanted) return;
  const match = /^([a-z-]+)(?:#(\d+|\*))?(?:@(\d+))?$/.exec(wanted);
  if (!match || match[1] !== point) return;
  const count = (reached.get(point) ?? 0) + 1;
  reached.set(point, count);
  if (match[2] !== "*" && count !== Number(match[2] ?? "1")) return;
  process.stderr.write(`rdw-backfill: test pause at ${wanted}\n`);
  if (match[3] !== undefined) {
    await sleep(Number(match[3]));
    process.stderr.write(`rdw-backfill: test pause at ${wanted} is over\n`);
    return;
  }
  const until = process.env.RDW_BACKFILL_TEST_CONTINUE;
  if (until) {
    while (!existsSync(until)) await sleep(50);
    process.stderr.write(`rdw-backfill: test pause at ${wanted}: going on\n`);
    return;
  }
  await new Promise<void>(() => setInterval(() => undefined, 60_000));
}
