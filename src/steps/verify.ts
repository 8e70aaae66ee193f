import { describeError, StepFailedError } from "../core/errors.js";
import { olapDialect, warehouseDialect } from "../dialects/choose.js";
import type { MysqlSession } from "../io/db/mysql-session.js";
import type { PgSession } from "../io/db/pg-session.js";
import type { VerifyAction } from "../plan/actions.js";
import { VERIFY_INSERT_BATCH, VERIFY_SCOPE_PAGE } from "../plan/tenant-actions.js";
import type { StepContext, TenantSessions } from "./context.js";
import type { FailureDetails } from "./results.js";
import {
  aggregateReportCheck,
  compareGroups,
  compareRows,
  completenessCheck,
  DRILL_GROUPS,
  levelCells,
  orphansCheck,
  uniquenessCheck,
  valuesCheck,
} from "./verify-compare.js";
import type { TenantVerification } from "./results.js";

export type { LevelCell, VerifyCheckResult } from "./verify-compare.js";

type Row = Record<string, unknown>;

/** The step of `run`: a tenant whose verification fails, fails. */
export async function verify(action: VerifyAction, context: StepContext): Promise<TenantVerification> {
  const { verification, cause } = await compare(action, context.sessions, context.tenant.tenant.id);
  if (!verification.ok) {
    const failed =
      verification.error ??
      verification.checks
        .filter((c) => !c.ok)
        .map((c) => c.name)
        .join(", ");
    // The cause tells the runner whether another attempt may help (a dropped connection).
    throw new StepFailedError<FailureDetails>(`verify: ${failed} failed`, { verification }, { cause });
  }
  return verification;
}

/**
 * The one entry point of verify, for `run` and `verify`: compares a tenant's `exam_alt_score`
 * with what the warehouse says it should hold, for the OLAP exams in scope, per (school year,
 * assessment, alt score) by counts and sums, so that it runs in minutes on tens of millions of
 * rows, drilling into the groups that differ for example ids. Changes no data: the warehouse
 * side uses a session-private temporary table of exam ids. Never throws: a failure is in `error`.
 */
export async function verifyTenant(
  action: VerifyAction,
  sessions: Pick<TenantSessions, "olapReader" | "warehouse">,
  tenant: string,
): Promise<TenantVerification> {
  return (await compare(action, sessions, tenant)).verification;
}

async function compare(
  action: VerifyAction,
  sessions: Pick<TenantSessions, "olapReader" | "warehouse">,
  tenant: string,
): Promise<{ verification: TenantVerification; cause?: unknown }> {
  const { scope } = action;
  const result: TenantVerification = { tenant, olapSchema: scope.schema, ok: false, checks: [], levels: [] };
  try {
    const olap = await sessions.olapReader();
    const warehouse = await sessions.warehouse(action.warehouseSession);
    await copyScope(action, olap, warehouse);
    // The warehouse's side and the OLAP side run at once, each on its own server.
    const [warehouseGroups, olapGroups, duplicates, orphans] = await Promise.all([
      warehouse.query<Row>(action.warehouse.groups),
      olap.query<Row>(action.olap.groups),
      olap.query<{ n: string; first_id: string; last_id: string; keys: string }>(action.olap.duplicateKeys),
      olap.query<{ id: string; orphans: string }>(action.olap.orphans),
    ]);
    const groups = compareGroups(warehouseGroups, olapGroups.rows);
    const rows = { missing: [] as string[], extra: [] as string[], changed: [] as string[] };
    const warehouseSql = warehouseDialect(action.dialects.warehouse);
    const olapSql = olapDialect(action.dialects.olap).tenant(scope.schema);
    const warehouseScope = { database: scope.database, altScoreIds: scope.altScoreIds, since: scope.since };
    for (const key of [...groups.identity, ...groups.values].slice(0, DRILL_GROUPS)) {
      const [year, asmt, score] = key.split("/").map(Number);
      const group = [year!, asmt!, score!] as const;
      const differences = compareRows(
        await warehouse.query<Row>(warehouseSql.verifyGroupRows(warehouseScope, scope.driver, group)),
        (await olap.query<Row>(olapSql.verifyGroupRows(scope.altScoreIds, scope.since, group))).rows,
      );
      rows.missing.push(...differences.missing);
      rows.extra.push(...differences.extra);
      rows.changed.push(...differences.changed);
    }
    const [warehouseLevels, olapLevels] = await Promise.all([
      warehouse.query<Row>(action.warehouse.levels),
      olap.query<Row>(action.olap.levels),
    ]);
    result.levels = levelCells(warehouseLevels, olapLevels.rows);
    result.checks.push(
      completenessCheck(groups, rows),
      uniquenessCheck(duplicates.rows),
      orphansCheck(orphans.rows),
      valuesCheck(groups.values, rows.changed),
      aggregateReportCheck(result.levels),
    );
    result.ok = result.checks.every((check) => check.ok);
  } catch (error) {
    result.error = describeError(error);
    return { verification: result, cause: error };
  }
  return { verification: result };
}

/** The OLAP exams in scope, copied page by page into the warehouse session's temporary table. */
async function copyScope(action: VerifyAction, olap: PgSession, warehouse: MysqlSession): Promise<void> {
  const { scope } = action;
  const warehouseSql = warehouseDialect(action.dialects.warehouse);
  const olapSql = olapDialect(action.dialects.olap).tenant(scope.schema);
  await warehouse.execute(action.warehouse.createScope);
  const page = async (after: string) =>
    (await olap.query<{ id: string }>(olapSql.scopePage(scope.since, after, VERIFY_SCOPE_PAGE))).rows.map(
      (row) => String(row.id),
    );
  // The next page is read from OLAP while this one is written to the warehouse.
  let ids = await page("0");
  while (ids.length > 0) {
    const next = page(ids[ids.length - 1]!);
    next.catch(() => undefined); // awaited below
    for (let i = 0; i < ids.length; i += VERIFY_INSERT_BATCH)
      await warehouse.execute(warehouseSql.insertScope(ids.slice(i, i + VERIFY_INSERT_BATCH)));
    ids = await next;
  }
}
