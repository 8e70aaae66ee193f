import { describeError, StepFailedError } from "../core/errors.js";
import { olapDialect, warehouseDialect } from "../dialects/choose.js";
import type { MysqlSession } from "../io/db/mysql-session.js";
import type { PgSession } from "../io/db/pg-session.js";
import type { VerifyAction } from "../plan/actions.js";
import { VERIFY_OLDER_PAGE, VERIFY_SCOPE_PAGE } from "../plan/tenant-actions.js";
import type { StepContext, TenantSessions } from "./context.js";
import type { FailureDetails } from "./results.js";
import {
  aggregateReportCheck,
  compareGroups,
  compareRows,
  completenessCheck,
  DRILL_GROUPS,
  BitmapBuilder,
  bitmapSpan,
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
    const [packet] = await warehouse.query<{ bytes: unknown }>(action.warehouse.maxStatementBytes);
    const span = bitmapSpan(Number(packet?.bytes), action.older ? 2 : 1);
    // The key check (one process) starts at once; the exams in scope are read meanwhile, with
    // `verify`'s older exams on a session of their own (a few seconds by the primary key, where
    // the pass over the live table, in parallel workers, slowed it tenfold); then that pass runs
    // while the warehouse sums its ranges.
    const duplicates = (async () => {
      for (const statement of action.olap.duplicateKeysSession) await olapKeys.query(statement);
      return olapKeys.query<{ n: string; first_id: string; last_id: string; keys: string }>(
        action.olap.duplicateKeys,
      );
    })();
    duplicates.catch(() => undefined); // awaited below
    const [bitmaps, olderBitmaps] = await Promise.all([
      scopeBitmaps(action, olap, span),
      action.older ? sessions.olapReader().then((reader) => olderExamBitmaps(action, reader, span)) : [],
    ]);
    const cells = olapCells.query<Row>(action.olap.cells);
    cells.catch(() => undefined); // awaited below
    const tally = await tallyWarehouse(action, bitmaps, olderBitmaps, warehouses);
    if (action.older) result.older = tally.older.result();
    const olapSide = olapCellSums((await cells).rows);
    const orphans =
      olapSide.orphans > 0
        ? (await olapKeys.query<{ id: string; orphans: string }>(action.olap.orphans)).rows
        : [];
    const groups = compareGroups(tally.inScope.groups, olapSide.inScope);
    const rows = await drillDown(action, [...groups.identity, ...groups.values], olap, warehouse);
    result.levels = levelCells(tally.inScope.levels, olapSide.inScope);
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
async function scopeBitmaps(action: VerifyAction, olap: PgSession, span: number): Promise<ExamBitmap[]> {
  const { olapSql, scope } = statementsOf(action);
  const builder = new BitmapBuilder(span);
  let after = "0";
  for (;;) {
    const page = olapSql.scopePage(scope.since, after, VERIFY_SCOPE_PAGE);
    const read = await olap.eachRow(page, ([id]) => builder.add(String(id)));
    if (read < VERIFY_SCOPE_PAGE) return builder.bitmaps();
    after = String(builder.lastId());
  }
}

/**
 * `verify`: the OLAP exams older than the window without alt score rows, as bitmaps, walked a
 * page of `VERIFY_OLDER_PAGE` exams at a time.
 */
async function olderExamBitmaps(action: VerifyAction, olap: PgSession, span: number): Promise<ExamBitmap[]> {
  const { olapSql, scope } = statementsOf(action);
  const builder = new BitmapBuilder(span);
  let after = "0";
  for (;;) {
    const [page] = (
      await olap.query<{ last_id: string | null }>(
        olapSql.olderPageEnd(scope.since, after, VERIFY_OLDER_PAGE),
      )
    ).rows;
    const last = page?.last_id;
    if (last === null || last === undefined) return builder.bitmaps();
    await olap.eachRow(
      olapSql.olderExamsWithoutAltScores(scope.altScoreIds, scope.since, after, last),
      ([id]) => builder.add(String(id)),
    );
    after = String(last);
  }
}

/** A bitmap that names no exam, for a statement whose other bitmap has no counterpart. */
const NO_EXAMS: ExamBitmap = { low: 1, high: 0, bits: Buffer.alloc(1) };

/**
 * Each warehouse session sums the rows of its range of exam_score ids whose exam a bitmap of
 * the exams in scope names, per group and level (and, for `verify`, those of the older exams a
 * second bitmap names, per school year); the bitmaps go with the statements, as many statements
 * a range as the larger list has bitmaps.
 */
async function tallyWarehouse(
  action: VerifyAction,
  bitmaps: readonly ExamBitmap[],
  olderBitmaps: readonly ExamBitmap[],
  warehouses: readonly MysqlSession[],
): Promise<{ inScope: WarehouseTally; older: OlderTally }> {
  const { warehouseSql, warehouseScope } = statementsOf(action);
  const inScope = new WarehouseTally();
  const older = new OlderTally();
  const statements = Math.max(bitmaps.length, olderBitmaps.length);
  await Promise.all(
    action.ranges.map(async (range, index) => {
      const warehouse = warehouses[index % warehouses.length]!;
      for (let i = 0; i < statements; i++) {
        const rows = await warehouse.query<Row>(
          warehouseSql.verifyRangeSums(
            warehouseScope,
            range,
            bitmaps[i] ?? NO_EXAMS,
            action.older ? (olderBitmaps[i] ?? NO_EXAMS) : undefined,
          ),
        );
        inScope.addSums(rows.filter((row) => Number(row.older) === 0));
        older.addSums(rows.filter((row) => Number(row.older) === 1));
      }
    }),
  );
  return { inScope, older };
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
