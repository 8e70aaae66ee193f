import { warehouseDialect } from "../dialects/choose.js";
import type { MysqlSession } from "../io/db/mysql-session.js";
import type { ExtractAction } from "../plan/actions.js";
import type { StepContext } from "./context.js";
import { serverExtract } from "./extract-server.js";
import { streamExtract } from "./extract-stream.js";
import { startOverlappedLoad } from "./load-parts.js";
import type { ExtractResult } from "./results.js";

/**
 * Stages the tenant's rows in its staging folder: through this process, one warehouse session
 * per range of ids, feeding the OLAP COPY as they go when the plan says so (the load step then
 * ends that COPY); or by the warehouse itself.
 */
export async function extract(action: ExtractAction, context: StepContext): Promise<ExtractResult> {
  const progress = context.progress("extract", context.tenant.estimates.altScoreRowsApprox);
  if (action.via === "server") {
    return serverExtract(
      action,
      await context.sessions.warehouse(),
      () => context.sessions.warehouse(),
      context.tenant.extract.dialect,
      context.staging,
      progress,
    );
  }
  const warehouses = await Promise.all(action.queries.map(() => context.sessions.warehouse()));
  await context.pause("extract-start"); // a fault test may take a lock the extract needs here
  const overlapped = action.loadAlongside
    ? await startOverlappedLoad(action.loadAlongside, await context.sessions.olap(), context)
    : undefined;
  try {
    const result = await streamExtract(
      action,
      warehouses,
      context.staging,
      progress,
      context.pause,
      context.stallMs,
      stillScanning(context),
      overlapped?.sink,
    );
    if (overlapped) context.attempt.overlapped = overlapped;
    return result;
  } catch (error) {
    overlapped?.abort();
    throw error;
  }
}

/**
 * Whether a warehouse session that sent no row for the stall bound is still scanning (a range
 * whose first rows in the window come late), looked up in the process list from one more
 * session: a statement waiting for a lock, or gone, is a stall.
 */
function stillScanning(context: StepContext): (threadId: number | null) => Promise<boolean> {
  let watcher: Promise<MysqlSession> | undefined;
  return async (threadId) => {
    if (threadId === null) return false;
    watcher ??= context.sessions.warehouse();
    const [process] = await (
      await watcher
    ).query<{ command: string; state: string | null }>(
      warehouseDialect(context.tenant.extract.dialect).processOf(threadId),
    );
    return process !== undefined && process.command === "Query" && !/lock/i.test(process.state ?? "");
  };
}
