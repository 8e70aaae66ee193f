import { describeError, StepFailedError } from "../core/errors.js";
import { olapDialect, warehouseDialect } from "../dialects/choose.js";
import type { MysqlSession } from "../io/db/mysql-session.js";
import type { PgSession } from "../io/db/pg-session.js";
import type { VerifyAction } from "../plan/actions.js";
import { VERIFY_OLDER_PAGE, VERIFY_SCOPE_PAGE } from "../plan/tenant-actions.js";
import type { StepContext, TenantSessions } from "./context.js";
import type { FailureDetails, OlderMissing } from "./results.js";
import {
  aggregateReportCheck,
  compareGroups,
  compareRows,
  completenessCheck,
  DRILL_GROUPS,
  BitmapBuilder,
  type ExamBitmap,
  levelCells,
  orphansCheck,
  uniquenessCheck,
  valuesCheck,
  OlderTally,
  WarehouseTally,
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
 * assessment, alt score) by counts, id sums and row checksums, drilling into the groups that
 * differ for example ids. Writes nothing on either server: the warehouse sums its rows of the
 * OLAP exams in scope, named by bitmaps of their ids, as the extract reads them; this process
 * keeps the bitmaps (a bit per exam id) and the sums (the drill-down into at most 20 differing
 * groups reads each of those groups whole).
 * Never throws: a failure is in `error`.
 */
export async function verifyTenant(
  action: VerifyAction,
  sessions: Pick<TenantSessions, "olapReader" | "warehouseReader">,
  tenant: string,
): Promise<TenantVerification> {
  return (await compare(action, sessions, tenant)).verification;
}

async function compare(
  action: VerifyAction,
  sessions: Pick<TenantSessions, "olapReader" | "warehouseReader">,
  tenant: string,
): Promise<{ verification: TenantVerification; cause?: unknown }> {
  const { scope } = action;
  const result: TenantVerification = { tenant, olapSchema: scope.schema, ok: false, checks: [], levels: [] };
  try {
    const [olap, olapCells, olapKeys, ...warehouses] = await Promise.all([
      sessions.olapReader(),
      sessions.olapReader(),
      sessions.olapReader(),
      ...action.ranges.map(() => sessions.warehouseReader()),
    ]);
    const warehouse = warehouses[0]!;
    // The exams in scope are read first, alone (a few seconds by the primary key, where the
    // aggregates running alongside slowed it tenfold); then the OLAP side's pass over the live
    // table and its key check run on their own sessions while the warehouse sums its ranges.
    const bitmaps = await scopeBitmaps(action, olap);
    const cells = olapCells.query<Row>(action.olap.cells);
    const duplicates = (async () => {
      for (const statement of action.olap.duplicateKeysSession) await olapKeys.query(statement);
      return olapKeys.query<{ n: string; first_id: string; last_id: string; keys: string }>(
        action.olap.duplicateKeys,
      );
    })();
    // `verify` also reads the older exams a runbook run lost, on sessions of their own meanwhile.
    const older = action.older
      ? Promise.all([sessions.olapReader(), sessions.warehouseReader()]).then(([olderOlap, olderWarehouse]) =>
          olderMissing(action, olderOlap, olderWarehouse),
        )
      : undefined;
    for (const pending of [cells, duplicates, older]) pending?.catch(() => undefined); // awaited below
    const tally = await tallyWarehouse(action, bitmaps, warehouses);
    if (older) result.older = await older;
    const olapSide = olapCellSums((await cells).rows);
    const orphans =
      olapSide.orphans > 0
        ? (await olapKeys.query<{ id: string; orphans: string }>(action.olap.orphans)).rows
        : [];
    const groups = compareGroups(tally.groups, olapSide.inScope);
    const rows = await drillDown(action, [...groups.identity, ...groups.values], olap, warehouse);
    result.levels = levelCells(tally.levels, olapSide.inScope);
    result.checks.push(
      completenessCheck(groups, rows),
      uniquenessCheck((await duplicates).rows),
      orphansCheck(orphans),
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

/**
 * The OLAP side's cells with rows in scope, each with its students (its rows: the uniqueness
 * check fails verify where a key is held twice), and the orphans counted over the whole table.
 */
function olapCellSums(rows: readonly Row[]): { inScope: Row[]; orphans: number } {
  const inScope = rows.filter((row) => Number(row.n) > 0).map((row) => ({ ...row, students: row.n }));
  const orphans = rows.reduce((sum, row) => sum + Number(row.orphans), 0);
  return { inScope, orphans };
}

/**
 * The ids of the OLAP exams in scope, as bitmaps: keyset pages by the primary key, each id
 * handed to the bitmap as its row arrives (millions of ids, none of them kept as a row).
 */
async function scopeBitmaps(action: VerifyAction, olap: PgSession): Promise<ExamBitmap[]> {
  const { olapSql, scope } = statementsOf(action);
  const builder = new BitmapBuilder();
  let after = "0";
  for (;;) {
    const page = olapSql.scopePage(scope.since, after, VERIFY_SCOPE_PAGE);
    const read = await olap.eachRow(page, ([id]) => builder.add(String(id)));
    if (read < VERIFY_SCOPE_PAGE) return builder.bitmaps();
    after = String(builder.lastId());
  }
}

/**
 * Each warehouse session sums the rows of its range of exam_score ids whose exam a bitmap of
 * the exams in scope names, per group and level; the bitmaps go with the statements.
 */
async function tallyWarehouse(
  action: VerifyAction,
  bitmaps: readonly ExamBitmap[],
  warehouses: readonly MysqlSession[],
): Promise<WarehouseTally> {
  const { warehouseSql, warehouseScope } = statementsOf(action);
  const tally = new WarehouseTally();
  await Promise.all(
    action.ranges.map(async (range, index) => {
      const warehouse = warehouses[index % warehouses.length]!;
      for (const bitmap of bitmaps)
        tally.addSums(
          await warehouse.query<Row>(warehouseSql.verifyRangeSums(warehouseScope, range, bitmap)),
        );
    }),
  );
  return tally;
}

/**
 * Walks the OLAP exams older than the window, a page of `VERIFY_OLDER_PAGE` at a time: those
 * without alt score rows go as bitmaps to the warehouse, which sums their loadable alt scores per
 * school year.
 */
async function olderMissing(
  action: VerifyAction,
  olap: PgSession,
  warehouse: MysqlSession,
): Promise<OlderMissing> {
  const { olapSql, warehouseSql, warehouseScope, scope } = statementsOf(action);
  const tally = new OlderTally();
  let after = "0";
  for (;;) {
    const [page] = (
      await olap.query<{ last_id: string | null }>(
        olapSql.olderPageEnd(scope.since, after, VERIFY_OLDER_PAGE),
      )
    ).rows;
    const last = page?.last_id;
    if (last === null || last === undefined) break;
    const builder = new BitmapBuilder();
    await olap.eachRow(
      olapSql.olderExamsWithoutAltScores(scope.altScoreIds, scope.since, after, last),
      ([id]) => builder.add(String(id)),
    );
    for (const bitmap of builder.bitmaps()) {
      tally.addSums(await warehouse.query<Row>(warehouseSql.verifyOlderSums(warehouseScope, bitmap)));
    }
    after = String(last);
  }
  return tally.result();
}

/** The dialects' statement makers for the action's tenant. */
function statementsOf(action: VerifyAction) {
  const { scope } = action;
  return {
    scope,
    warehouseSql: warehouseDialect(action.dialects.warehouse),
    olapSql: olapDialect(action.dialects.olap).tenant(scope.schema),
    warehouseScope: { database: scope.database, altScoreIds: scope.altScoreIds, since: scope.since },
  };
}

/** The rows of the first groups that differ, on both sides: which are missing, extra or changed. */
async function drillDown(
  action: VerifyAction,
  groupKeys: readonly string[],
  olap: PgSession,
  warehouse: MysqlSession,
): Promise<{ missing: string[]; extra: string[]; changed: string[] }> {
  const { olapSql, warehouseSql, warehouseScope, scope } = statementsOf(action);
  const rows = { missing: [] as string[], extra: [] as string[], changed: [] as string[] };
  for (const key of groupKeys.slice(0, DRILL_GROUPS)) {
    const [year, asmt, score] = key.split("/").map(Number);
    const group = [year!, asmt!, score!] as const;
    const [warehouseRows, olapRows, inScope] = await Promise.all([
      warehouse.query<Row>(warehouseSql.verifyGroupRows(warehouseScope, group)),
      olap.query<Row>(olapSql.verifyGroupRows(scope.altScoreIds, scope.since, group)),
      olap.query<{ id: string }>(olapSql.verifyGroupScope(scope.since, group)),
    ]);
    const differences = compareRows(
      warehouseRows,
      olapRows.rows,
      new Set(inScope.rows.map((row) => String(row.id))),
    );
    rows.missing.push(...differences.missing);
    rows.extra.push(...differences.extra);
    rows.changed.push(...differences.changed);
  }
  return rows;
}
