import { setTimeout as sleep } from "node:timers/promises";
import { RuntimeError, StalledError } from "../core/errors.js";
import { warehouseDialect, type WarehouseDialectName } from "../dialects/choose.js";
import type { MysqlSession } from "../io/db/mysql-session.js";
import type { ServerExtractAction } from "../plan/actions.js";

/**
 * Runs a long server-side statement (Aurora's `INTO OUTFILE S3`) while a second session looks it
 * up in the process list: when the session is gone from the server (killed, a failover) or the
 * statement runs beyond its bound, the wait ends at once with the reason (the statement is
 * stopped first when it overran), instead of waiting on a socket that may never answer.
 */
/** Looks at the process list that fail in a row before the watch gives up. */
const WATCH_MISSES = 3;

export async function watchedStatement<T>(
  run: () => Promise<T>,
  extract: MysqlSession,
  openWatcher: () => Promise<MysqlSession>,
  liveness: ServerExtractAction["liveness"],
  dialect: WarehouseDialectName,
): Promise<T> {
  const [row] = await extract.query<{ id: unknown }>(liveness.connectionId);
  const id = Number(row?.id);
  const watcher = await openWatcher();
  const stop = new AbortController();
  const started = Date.now();
  let unanswered = 0;
  const watch = (async (): Promise<never> => {
    for (;;) {
      await sleep(liveness.everyMs, undefined, { signal: stop.signal });
      let rows: { command: string; state: string | null; time: unknown }[];
      try {
        rows = await watcher.query(warehouseDialect(dialect).processOf(id));
        unanswered = 0;
      } catch (error) {
        // One unanswered look is not a verdict on the extract; several in a row are.
        if (++unanswered < WATCH_MISSES) continue;
        throw error;
      }
      const [process] = rows;
      if (!process) {
        throw new RuntimeError(
          `the warehouse session ${id} running the server-side extract is gone from the server (killed, or a failover)`,
        );
      }
      const seconds = Math.round((Date.now() - started) / 1000);
      if (Date.now() - started > liveness.boundMs) {
        await watcher.execute(warehouseDialect(dialect).killQuery(id)).catch(() => undefined);
        throw new StalledError(
          `the server-side extract ran ${seconds} s, beyond its bound of ${Math.round(liveness.boundMs / 1000)} s ` +
            `(last seen: ${process.command}${process.state ? `, ${process.state}` : ""}); it was stopped`,
        );
      }
    }
  })();
  watch.catch(() => undefined); // raced below
  try {
    return await Promise.race([run(), watch]);
  } catch (error) {
    // Closing a session does not stop INTO OUTFILE S3 on the server, which would go on writing
    // parts a retry writes too: stop it first (harmless when it is gone or already stopped).
    await watcher.execute(warehouseDialect(dialect).killQuery(id)).catch(() => undefined);
    // The extract's own socket may never answer again: do not wait on it.
    await extract.close();
    throw error;
  } finally {
    stop.abort();
  }
}
