/**
 * Every statement of every dialect, with sample arguments: what the placeholder test checks for
 * its bound values and the engine-compatibility test checks against each engine's documentation.
 */
import assert from "node:assert/strict";
import {
  type BoundValue,
  type MysqlStatement,
  type PgStatement,
  type Statement,
} from "../../src/core/statement.js";
import { AURORA_2, AURORA_3, AuroraDialect } from "../../src/dialects/aurora.js";
import { MYSQL, MysqlDialect } from "../../src/dialects/mysql.js";
import { POSTGRES, PostgresDialect } from "../../src/dialects/postgres.js";
import { REDSHIFT } from "../../src/dialects/redshift.js";
import type { ExtractDriver, ExtractScope, IdRange } from "../../src/dialects/types.js";

export const SINCE = "2019-11-01 00:00:00.000000";
export const SCOPE: ExtractScope = { database: "warehouse_pa", altScoreIds: [19, 20, 21], since: SINCE };
export const ALT_IDS = [19, 20, 21];
export const GROUP = [2020, 7, 19] as const;
export const DRIVERS: ExtractDriver[] = ["exam", "exam_score"];
export const RANGES: IdRange[] = [
  { low: 1000, high: 2000 },
  { low: 1000, high: null },
  { low: null, high: 2000 },
  { low: null, high: null },
];
export const MANIFEST = "s3://rdw-qa-archive/pa/MigrateAdHoc/exam_alt_score/run1/exam_alt_score.manifest";
export const ROLE = "arn:aws:iam::123456789012:role/rdw-redshift";

// ---------------------------------------------------------------------------------------------
// Reading SQL text: string literals are set aside, so that what they contain is never taken for
// a placeholder.

/** A single-quoted literal, with `''` or backslash escapes inside. */
export const LITERAL = /'(?:[^'\\]|\\.|'')*'/g;

/** The SQL with `edit` applied to the text between string literals; literals kept as they are. */
export function outsideLiterals(sql: string, edit: (code: string) => string): string {
  let result = "";
  let last = 0;
  for (const match of sql.matchAll(LITERAL)) {
    result += edit(sql.slice(last, match.index)) + match[0];
    last = match.index! + match[0].length;
  }
  return result + edit(sql.slice(last));
}

/** The SQL without its string literals. */
export const codeOf = (sql: string) => sql.replace(LITERAL, "''");

export const questionMarks = (sql: string) => [...codeOf(sql)].filter((c) => c === "?").length;
export const dollarNumbers = (sql: string) => [...codeOf(sql).matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));

export const literal = (value: BoundValue | undefined) => {
  assert.ok(value !== undefined, "a placeholder without a bound value");
  if (typeof value === "number") return String(value);
  // Bytes, as mysql2 sends them: a hex literal.
  if (value instanceof Uint8Array) return `X'${Buffer.from(value).toString("hex")}'`;
  return `'${value}'`;
};

/** The statement with each placeholder replaced by its bound value, as the server reads it. */
export function inline(statement: Statement): string {
  let next = 0;
  return outsideLiterals(statement.sql, (code) =>
    statement.protocol === "mysql"
      ? code.replace(/\?/g, () => literal(statement.params[next++]))
      : code.replace(/\$(\d+)/g, (_, n: string) => literal(statement.params[Number(n) - 1])),
  );
}

// ---------------------------------------------------------------------------------------------
// Every statement of every dialect, with sample arguments.

interface Produced<S> {
  origin: string;
  label: string;
  statement: S;
}

/** Collects statements by method; a method that returns none still counts as called. */
export class Collector<S extends Statement> {
  readonly produced: Produced<S>[] = [];
  /** `<kind>.<method>` for every method called, whether or not it returned statements. */
  readonly called = new Set<string>();

  constructor(private readonly kind: string) {}

  add(origin: string, method: string, detail: string, statements: readonly S[]): void {
    this.called.add(`${this.kind}.${method}`);
    statements.forEach((statement, index) =>
      this.produced.push({
        origin,
        label: `${method}(${detail})${statements.length > 1 ? ` #${index + 1}` : ""}`,
        statement,
      }),
    );
  }
}

export function warehouseStatements(dialect: MysqlDialect): Collector<MysqlStatement> {
  const c = new Collector<MysqlStatement>("warehouse");
  const add = (method: string, detail: string, ...statements: MysqlStatement[]) =>
    c.add(dialect.name, method, detail, statements);
  for (const readOnly of [true, false])
    add("session", `readOnly ${readOnly}`, ...dialect.session({ readOnly }));
  add("version", "", dialect.version());
  add("auroraVersion", "", dialect.auroraVersion());
  add(
    "requiredColumns",
    "3 tables",
    dialect.requiredColumns("warehouse_pa", ["exam", "exam_score", "subject_score"]),
  );
  add("requiredColumns", "1 table", dialect.requiredColumns("warehouse_pa", ["exam"]));
  add("altScoreIds", "", dialect.altScoreIds("warehouse_pa"));
  add("altScoreNames", "3 ids", dialect.altScoreNames("warehouse_pa", ALT_IDS));
  for (const table of ["exam", "exam_score"] as const)
    add("idSpan", table, dialect.idSpan("warehouse_pa", table));
  add("examsInWindow", "", dialect.examsInWindow("warehouse_pa", SINCE));
  add("examsInWindowSample", "", dialect.examsInWindowSample("warehouse_pa", SINCE, 1, 30_000_000).statement);
  add(
    "examsInWindowSample",
    "1000 ids",
    dialect.examsInWindowSample("warehouse_pa", SINCE, 1000, 1999).statement,
  );
  for (const driver of DRIVERS) {
    add("selectionOf", driver, dialect.selectionOf(SCOPE, driver));
    for (const range of RANGES) {
      add(
        "streamExtract",
        `${driver} ${range.low}..${range.high}`,
        dialect.streamExtract(SCOPE, driver, range),
      );
    }
  }
  const bitmap = { low: 1000, high: 1999, bits: Buffer.from([5, 10]) };
  add("verifyRangeSums", "open", dialect.verifyRangeSums(SCOPE, { low: null, high: null }, bitmap));
  add("verifyRangeSums", "bounded", dialect.verifyRangeSums(SCOPE, { low: 5, high: 500 }, bitmap));
  const older = { low: 10, high: 25, bits: Buffer.from([3, 0]) };
  add(
    "verifyRangeSums",
    "with older exams",
    dialect.verifyRangeSums(SCOPE, { low: 5, high: 500 }, bitmap, older),
  );
  add("maxStatementBytes", "", dialect.maxStatementBytes());
  add("verifyGroupRows", "", dialect.verifyGroupRows(SCOPE, GROUP));
  add("connectionId", "", dialect.connectionId());
  add("processOf", "", dialect.processOf(4711));
  add("killQuery", "", dialect.killQuery(4711));
  add("streamExtract", "default range", dialect.streamExtract({ ...SCOPE, altScoreIds: [19] }, "exam"));
  add("nullCensus", "", dialect.nullCensus(SCOPE));
  add("stagedCount", "", dialect.stagedCount(SCOPE));
  add("snapshot", "", ...Object.values(dialect.snapshot()));
  if (dialect.capabilities.extractsToS3) {
    add("extractToS3", "", dialect.extractToS3(SCOPE, "s3://rdw-qa-archive/pa/run1/exam_alt_score"));
  } else {
    c.called.add("warehouse.extractToS3"); // throws: see "MySQL's extractToS3 throws" in dialects.test.ts
  }
  if (dialect instanceof AuroraDialect) {
    add("currentUser", "", dialect.currentUser());
    add("grants", "", dialect.grants());
    for (const parameter of dialect.s3RoleParameters()) add("s3Role", parameter, dialect.s3Role(parameter));
    add("probe", "", dialect.probe("s3://rdw-qa-archive/pa/run1_probe/probe"));
  }
  return c;
}

export function olapStatements(dialect: PostgresDialect): {
  olap: Collector<PgStatement>;
  tenant: Collector<PgStatement>;
} {
  const olap = new Collector<PgStatement>("olap");
  const add = (method: string, detail: string, ...statements: PgStatement[]) =>
    olap.add(dialect.name, method, detail, statements);
  add("probeSession", "", ...dialect.probeSession());
  for (const readOnly of [true, false])
    add("session", `readOnly ${readOnly}`, ...dialect.session({ readOnly }));
  add("singleProcess", "", ...dialect.singleProcess()); // Redshift: none
  add("version", "", dialect.version());
  add("currentSchema", "", dialect.currentSchema());
  add("requiredColumns", "2 tables", dialect.requiredColumns("reporting_pa", ["exam_alt_score", "exam"]));
  const space = dialect.diskSpace("reporting_pa");
  if (space) add("diskSpace", "", space.free, space.tableSize);
  else olap.called.add("olap.diskSpace"); // PostgreSQL: no statements
  olap.called.add("olap.tenant"); // its statements are collected below

  const tenantSql = new Collector<PgStatement>("tenant");
  for (const runId of ["20261124_031500_ab12", ""]) {
    const t = dialect.tenant("reporting_pa", runId);
    const add = (method: string, detail: string, ...statements: PgStatement[]) =>
      tenantSql.add(`${dialect.name} run ${JSON.stringify(runId)}`, method, detail, statements);
    add("dropWorkTables", "", ...t.dropWorkTables());
    add("countLive", "", t.countLive());
    add("backup", "", ...t.backup("exam_alt_score_backup_run1"));
    add("createStage", "", t.createStage());
    for (const form of ["iam-role", "credentials"] as const) {
      const load = t.load(MANIFEST, { role: ROLE, form });
      const statements = [...load.prepare, load.copy];
      if (load.copiesFrom === "s3") statements.push(load.copiedRows, ...load.loadErrors);
      add("load", form, ...statements);
    }
    add("selectRows", "", ...t.selectRows());
    add("selectRowsNoTwins", "", ...t.selectRowsNoTwins());
    add("keepPassSettings", "", ...t.keepPassSettings()); // Redshift: none (temporary work tables)
    add("rejections", "5", t.rejections(5).marked, t.rejections(5).withTwins);
    add("replaceMemory", "", ...t.replaceMemory()); // Redshift: none (no work_mem)
    add("deleteReplaced", "", t.deleteReplaced());
    add("insertRows", "", t.insertRows());
    add("analyze", "", t.analyze());
    add("reclaimDeleted", "", ...t.reclaimDeleted());
    add("analyzeRows", "", t.analyzeRows());
    add("analyzeRowsSettings", "", ...t.analyzeRowsSettings()); // Redshift: none (no such setting)
    add("analyzeStage", "", ...t.analyzeStage()); // Redshift: none (COPY analyzes an empty table)
    add("keysHeldTwice", "", t.keysHeldTwice());
    const enforced = t.examKeyEnforced();
    if (enforced) add("examKeyEnforced", "", enforced);
    else tenantSql.called.add("tenant.examKeyEnforced"); // Redshift: not enforced
    add("rowsChecksum", "", t.rowsChecksum());
    add("liveChecksum", "", t.liveChecksum());
    const lock = t.lock();
    add("lock", "", ...Object.values(lock));
    const rollback = t.rollback();
    const restore = rollback.restoreKeys("exam_alt_score_backup_run1");
    add("rollback", "restoreKeys", ...restore.prepare, ...Object.values(restore.counts));
    add("rollback", "restoreKeys", restore.deleteRunRows, restore.insertBackupRows, restore.finish);
    add("rollback", "restoreWholeTable", ...rollback.restoreWholeTable("exam_alt_score_backup_run1"));
    add("liveLevels", "", t.liveLevels());
    add("liveLevelCounts", "", t.liveLevelCounts());
    add("countTable", "", t.countTable("exam_alt_score_backup_run1"));
    add("dropTable", "", t.dropTable("exam_alt_score_backup_run1"));
    add("tableExists", "", t.tableExists("exam_alt_score_backup_run1"));
    add("scopePage", "", t.scopePage(SINCE, "0", 1000));
    add("verifyCells", "3 ids", t.verifyCells(ALT_IDS, SINCE));
    add("verifyCells", "1 id", t.verifyCells([19], SINCE));
    add("verifyGroupRows", "", t.verifyGroupRows(ALT_IDS, SINCE, GROUP));
    add("verifyGroupScope", "", t.verifyGroupScope(SINCE, GROUP));
    add("olderPageEnd", "", t.olderPageEnd(SINCE, "0", 1000));
    add("olderExamsWithoutAltScores", "", t.olderExamsWithoutAltScores(ALT_IDS, SINCE, "0", 1000));
    add("duplicateKeys", "", t.duplicateKeys(10));
    add("orphans", "", t.orphans(10));
  }
  return { olap, tenant: tenantSql };
}

export const warehouses = [MYSQL, AURORA_2, AURORA_3].map(warehouseStatements);
export const olaps = [POSTGRES, REDSHIFT].map(olapStatements);
export const MYSQL_PRODUCED = warehouses.flatMap((c) => c.produced);
export const PG_PRODUCED = olaps.flatMap(({ olap, tenant }) => [...olap.produced, ...tenant.produced]);

/**
 * Methods of the dialect classes that produce no statement of their own: helpers that return SQL
 * fragments to the statement methods, and checks that return text.
 */
export const NOT_STATEMENTS = new Set([
  "warehouse.inBitmap", // a WHERE fragment of verifyRangeSums
  "warehouse.inIdRange", // a WHERE fragment of streamExtract and verifyRangeSums
  "warehouse.selection", // the row selection, a fragment of the extract and verify statements (see selectionOf)
  "warehouse.s3Preflight", // Aurora's preflight: messages, from facts already read
  "warehouse.s3RoleParameters", // parameter names (s3Role makes their statements)
  "warehouse.probeFailureHint", // a message
  "olap.memorySettings", // statements of session(), which lists them
  "olap.lockWaitSettings", // statements of session(), which lists them
  "olap.compilerSettings", // statements of session(), which lists them
  "olap.joinSettings", // statements of session(), which lists them
  "tenant.workTable", // a table name
  "tenant.createWorkTable", // the start of a CREATE statement
  "tenant.verdictOf", // the verdict expression of selectRows
  "tenant.keepPass", // the statements of selectRows and selectRowsNoTwins
  "tenant.examByKey", // a LEFT JOIN fragment of rejections
  "tenant.inScope", // a FROM … WHERE fragment of the verify statements
  "tenant.table", // a quoted table name
  "tenant.rowChecksum", // an expression of verify's statements
  "tenant.hexToBigint", // an expression of rowChecksum
  "tenant.rowHash", // an expression of the merge's checksums
  "tenant.checksumOf", // the statement of rowsChecksum and liveChecksum
  "tenant.levelsOf", // the statement of liveLevels and liveLevelCounts
]);

export function methodsOf(kind: string, classes: readonly { prototype: object }[]): string[] {
  return classes.flatMap(({ prototype }) =>
    Object.getOwnPropertyNames(prototype)
      .filter((name) => name !== "constructor")
      .filter((name) => typeof Object.getOwnPropertyDescriptor(prototype, name)?.value === "function")
      .map((name) => `${kind}.${name}`),
  );
}
