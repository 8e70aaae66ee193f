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
  const watch = (async (): Promise<never> => {
    for (;;) {
      await sleep(liveness.everyMs, undefined, { signal: stop.signal });
      const [process] = await watcher.query<{ command: string; state: string | null; time: unknown }>(
        warehouseDialect(dialect).processOf(id),
      );
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
    // The extract's own socket may never answer again: do not wait on it.
    await extract.close();
    throw error;
  } finally {
    stop.abort();
  }
}
