import type { ExtractDriver } from "../plan/sql/warehouse.js";
import { WarehouseConnection } from "../adapters/source/mysql.js";
import { OlapConnection } from "../adapters/target/postgres.js";
import type { TenantConfig } from "../config/settings.js";
import { describeError } from "../errors.js";
import { OlapVerifySql, warehouseSql } from "./sql.js";

export interface VerifyCheckResult {
  name: "completeness" | "uniqueness" | "orphans" | "values" | "aggregate report";
  ok: boolean;
  /** What was compared and what was found, with numbers. */
  detail: string;
  /** A few `exam_alt_score` / `exam_score` ids (or report cells) to look at. */
  examples: string[];
}

/** Students per performance level for one school year, assessment and alt score, on both sides. */
export interface LevelCell {
  schoolYear: number;
  asmtId: number;
  subjectScoreId: number;
  level: number;
  warehouse: number;
  olap: number;
}

export interface TenantVerification {
  tenant: string;
  olapSchema: string;
  ok: boolean;
  checks: VerifyCheckResult[];
  levels: LevelCell[];
  error?: string;
}

export interface VerifyTarget {
  tenant: TenantConfig;
  olapSchema: string;
  altScoreIds: number[];
  /** UTC, `YYYY-MM-DD HH:MM:SS.ffffff`. */
  since: string;
  /** Which table the warehouse reads first, as the plan chose for the extract. */
  driver: ExtractDriver;
}

const EXAMPLES = 5;
const SCOPE_PAGE = 50_000;
const INSERT_BATCH = 5000;
const DRILL_GROUPS = 20;
/** Staged scale scores carry 6 significant digits (MySQL's FLOAT text); a few hundredths is rounding. */
const SCALE_TOLERANCE = 0.01;

interface GroupSums {
  n: bigint;
  ids: bigint;
  scale: number;
  levels: bigint;
  completed: bigint;
  updated: bigint;
}

interface RowValues {
  scale: number;
  level: number;
  completed: string;
  updated: string;
}

/**
 * Compares a tenant's `exam_alt_score` with what the warehouse says it should hold, for the OLAP
 * exams in scope: per (school year, assessment, alt score) by counts and sums, so that it runs in
 * minutes on tens of millions of rows, drilling into the groups that differ for example ids.
 * Changes no data: the warehouse side uses a session-private temporary table of exam ids.
 */
export async function verifyTenant(target: VerifyTarget): Promise<TenantVerification> {
  const { tenant, olapSchema, altScoreIds, since, driver } = target;
  const result: TenantVerification = { tenant: tenant.id, olapSchema, ok: false, checks: [], levels: [] };
  const olapSql = new OlapVerifySql(olapSchema);
  let olap: OlapConnection | undefined;
  let warehouse: WarehouseConnection | undefined;
  try {
    olap = await OlapConnection.open(tenant.olap, `tenant ${tenant.id} OLAP`, { readOnly: true });
    warehouse = await WarehouseConnection.open(tenant.warehouse, `tenant ${tenant.id} warehouse`, {
      readOnly: false,
    });
    await copyScope(olap, warehouse, olapSql, since);
    const database = tenant.warehouse.database;
    // The warehouse's side and the OLAP side run at once, each on its own server.
    const [warehouseGroups, olapGroups, uniquenessCheck, orphansCheck] = await Promise.all([
      warehouse.query<Record<string, unknown>>(warehouseSql.groups(database, altScoreIds, since, driver)),
      olap.query<Record<string, unknown>>(olapSql.groups(altScoreIds, since)),
      uniqueness(olap, olapSql),
      orphans(olap, olapSql),
    ]);
    const expected = groupMap(warehouseGroups);
    const actual = groupMap(olapGroups.rows);

    const identity: string[] = [];
    const values: string[] = [];
    for (const key of new Set([...expected.keys(), ...actual.keys()])) {
      const w = expected.get(key);
      const o = actual.get(key);
      if (!w || !o || w.n !== o.n || w.ids !== o.ids) identity.push(key);
      else if (!sameValues(w, o)) values.push(key);
    }
    const missing: string[] = [];
    const extra: string[] = [];
    const changed: string[] = [];
    for (const key of [...identity, ...values].slice(0, DRILL_GROUPS)) {
      const group = key.split("/").map(Number);
      const w = rowMap(
        await warehouse.query<Record<string, unknown>>(
          warehouseSql.groupRows(database, altScoreIds, since, group, driver),
        ),
      );
      const o = rowMap(
        (await olap.query<Record<string, unknown>>(olapSql.groupRows(altScoreIds, since, group))).rows,
      );
      for (const [id, row] of w) {
        const other = o.get(id);
        if (!other) missing.push(id);
        else if (!sameRow(row, other)) changed.push(id);
      }
      for (const id of o.keys()) if (!w.has(id)) extra.push(id);
    }
    const rowsExpected = [...expected.values()].reduce((sum, g) => sum + g.n, 0n);
    result.checks.push({
      name: "completeness",
      ok: identity.length === 0,
      detail:
        `${expected.size} groups, ${rowsExpected} rows expected for the exams in scope; ` +
        (identity.length === 0
          ? "every group has exactly the expected rows"
          : `${identity.length} groups differ: ${missing.length} rows missing, ${extra.length} rows extra (in the first ${DRILL_GROUPS} groups)`),
      examples: [
        ...missing.slice(0, EXAMPLES).map((id) => `missing ${id}`),
        ...extra.slice(0, EXAMPLES).map((id) => `extra ${id}`),
      ],
    });
    result.checks.push(uniquenessCheck, orphansCheck);
    result.checks.push({
      name: "values",
      ok: values.length === 0 && changed.length === 0,
      detail:
        values.length === 0 && changed.length === 0
          ? "scale score, performance level, completed_at and updated equal the warehouse's in every group"
          : `${values.length + changed.length} rows or groups with other values than the warehouse's`,
      examples: changed.slice(0, EXAMPLES).map((id) => `changed ${id}`),
    });
    const levels = await levelCells(warehouse, olap, olapSql, database, altScoreIds, since, driver);
    result.levels = levels;
    const differing = levels.filter((cell) => cell.warehouse !== cell.olap);
    result.checks.push({
      name: "aggregate report",
      ok: differing.length === 0,
      detail: `${levels.length} cells (school year, assessment, alt score, performance level): students counted from OLAP ${
        differing.length === 0 ? "equal" : `differ in ${differing.length} cells from`
      } the warehouse's`,
      examples: differing
        .slice(0, EXAMPLES)
        .map(
          (c) =>
            `${c.schoolYear}/${c.asmtId}/${c.subjectScoreId}/level ${c.level}: warehouse ${c.warehouse}, OLAP ${c.olap}`,
        ),
    });
    result.ok = result.checks.every((check) => check.ok);
  } catch (error) {
    result.error = describeError(error);
  } finally {
    await olap?.close();
    await warehouse?.close();
  }
  return result;
}

/** The OLAP exams in scope, copied page by page into the warehouse session's temporary table. */
async function copyScope(
  olap: OlapConnection,
  warehouse: WarehouseConnection,
  sql: OlapVerifySql,
  since: string,
): Promise<void> {
  await warehouse.execute(warehouseSql.createScope());
  const page = async (after: string) =>
    (await olap.query<{ id: string }>(sql.scopePage(since, after, SCOPE_PAGE))).rows.map((row) =>
      String(row.id),
    );
  // The next page is read from OLAP while this one is written to the warehouse.
  let ids = await page("0");
  while (ids.length > 0) {
    const next = page(ids[ids.length - 1]!);
    next.catch(() => undefined); // awaited below
    for (let i = 0; i < ids.length; i += INSERT_BATCH)
      await warehouse.execute(warehouseSql.insertScope(ids.slice(i, i + INSERT_BATCH)));
    ids = await next;
  }
}

async function uniqueness(olap: OlapConnection, sql: OlapVerifySql): Promise<VerifyCheckResult> {
  const { rows } = await olap.query<{ n: string; first_id: string; last_id: string; keys: string }>(
    sql.duplicateKeys(EXAMPLES),
  );
  const keys = Number(rows[0]?.keys ?? 0);
  return {
    name: "uniqueness",
    ok: keys === 0,
    detail:
      keys === 0
        ? "no two rows share (school_year, asmt_id, student_id, subject_score_id)"
        : `${keys} keys are held by more than one row`,
    examples: rows.map((row) => `${row.n} rows, e.g. ids ${row.first_id} and ${row.last_id}`),
  };
}

async function orphans(olap: OlapConnection, sql: OlapVerifySql): Promise<VerifyCheckResult> {
  const { rows } = await olap.query<{ id: string; orphans: string }>(sql.orphans(EXAMPLES));
  const count = Number(rows[0]?.orphans ?? 0);
  return {
    name: "orphans",
    ok: count === 0,
    detail:
      count === 0
        ? "every row's exam is in OLAP exam with the same student, assessment and year"
        : `${count} rows have no such exam`,
    examples: rows.map((row) => `orphan ${row.id}`),
  };
}

async function levelCells(
  warehouse: WarehouseConnection,
  olap: OlapConnection,
  sql: OlapVerifySql,
  database: string,
  altScoreIds: number[],
  since: string,
  driver: ExtractDriver,
): Promise<LevelCell[]> {
  type Row = {
    school_year: number;
    asmt_id: number;
    subject_score_id: number;
    level: number;
    students: string;
  };
  const cells = new Map<string, LevelCell>();
  const add = (rows: Row[], side: "warehouse" | "olap") => {
    for (const row of rows) {
      const key = `${row.school_year}/${row.asmt_id}/${row.subject_score_id}/${row.level}`;
      const cell = cells.get(key) ?? {
        schoolYear: Number(row.school_year),
        asmtId: Number(row.asmt_id),
        subjectScoreId: Number(row.subject_score_id),
        level: Number(row.level),
        warehouse: 0,
        olap: 0,
      };
      cell[side] = Number(row.students);
      cells.set(key, cell);
    }
  };
  const [warehouseRows, olapRows] = await Promise.all([
    warehouse.query<Row>(warehouseSql.levels(database, altScoreIds, since, driver)),
    olap.query<Row>(sql.levels(altScoreIds, since)),
  ]);
  add(warehouseRows, "warehouse");
  add(olapRows.rows, "olap");
  return [...cells.values()].sort(
    (a, b) =>
      a.schoolYear - b.schoolYear ||
      a.asmtId - b.asmtId ||
      a.subjectScoreId - b.subjectScoreId ||
      a.level - b.level,
  );
}

/** Exact decimal text (`123`, `123.5`, `123.000001`) as whole microseconds. */
function micros(value: unknown): bigint {
  const [whole = "0", fraction = ""] = String(value ?? "0").split(".");
  return BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, "0").slice(0, 6));
}

function groupMap(rows: Record<string, unknown>[]): Map<string, GroupSums> {
  return new Map(
    rows.map((row) => [
      `${row.school_year}/${row.asmt_id}/${row.subject_score_id}`,
      {
        n: BigInt(String(row.n)),
        ids: BigInt(String(row.ids)),
        scale: Number(row.scale),
        levels: BigInt(String(row.levels)),
        completed: micros(row.completed),
        updated: micros(row.updated),
      },
    ]),
  );
}

function sameValues(a: GroupSums, b: GroupSums): boolean {
  return (
    a.levels === b.levels &&
    a.completed === b.completed &&
    a.updated === b.updated &&
    Math.abs(a.scale - b.scale) <= SCALE_TOLERANCE * Number(a.n)
  );
}

function rowMap(rows: Record<string, unknown>[]): Map<string, RowValues> {
  return new Map(
    rows.map((row) => [
      String(row.id),
      {
        scale: Number(row.scale_score),
        level: Number(row.performance_level),
        completed: String(row.completed_at),
        updated: String(row.updated),
      },
    ]),
  );
}

function sameRow(a: RowValues, b: RowValues): boolean {
  return (
    a.level === b.level &&
    a.completed === b.completed &&
    a.updated === b.updated &&
    Math.abs(a.scale - b.scale) <= SCALE_TOLERANCE
  );
}

export function renderVerification(results: readonly TenantVerification[]): string {
  const lines: string[] = [];
  for (const result of results) {
    lines.push(
      `Tenant ${result.tenant} (${result.olapSchema}): ${result.ok ? "PASS" : "FAIL"}${result.error ? `: ${result.error}` : ""}`,
    );
    for (const check of result.checks) {
      lines.push(`  ${check.ok ? "pass" : "FAIL"}  ${check.name}: ${check.detail}`);
      for (const example of check.examples) lines.push(`        ${example}`);
    }
  }
  return lines.join("\n") + "\n";
}
