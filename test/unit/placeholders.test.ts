import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/core/errors.js";
import {
  type BoundValue,
  fixed,
  type MysqlStatement,
  type PgStatement,
  type Protocol,
  type Statement,
  StatementBuilder,
} from "../../src/core/statement.js";
import { AURORA_2, AURORA_3, AuroraDialect } from "../../src/dialects/aurora.js";
import { MYSQL, MYSQL_WIRE, MysqlDialect, quoteMysql } from "../../src/dialects/mysql.js";
import {
  POSTGRES,
  POSTGRES_WIRE,
  PostgresDialect,
  PostgresTenantSql,
  quotePg,
} from "../../src/dialects/postgres.js";
import { REDSHIFT, RedshiftDialect, RedshiftTenantSql } from "../../src/dialects/redshift.js";
import type { ExtractDriver, ExtractScope, IdRange } from "../../src/dialects/types.js";
import type { MysqlSession } from "../../src/io/db/mysql-session.js";
import type { PgSession } from "../../src/io/db/pg-session.js";

const SINCE = "2019-11-01 00:00:00.000000";
const SCOPE: ExtractScope = { database: "warehouse_pa", altScoreIds: [19, 20, 21], since: SINCE };
const ALT_IDS = [19, 20, 21];
const GROUP = [2020, 7, 19] as const;
const DRIVERS: ExtractDriver[] = ["exam", "exam_score"];
const RANGES: IdRange[] = [
  { low: 1000, high: 2000 },
  { low: 1000, high: null },
  { low: null, high: 2000 },
  { low: null, high: null },
];
const MANIFEST = "s3://rdw-qa-archive/pa/MigrateAdHoc/exam_alt_score/run1/exam_alt_score.manifest";
const ROLE = "arn:aws:iam::123456789012:role/rdw-redshift";

// ---------------------------------------------------------------------------------------------
// Reading SQL text: string literals are set aside, so that what they contain is never taken for
// a placeholder.

/** A single-quoted literal, with `''` or backslash escapes inside. */
const LITERAL = /'(?:[^'\\]|\\.|'')*'/g;

/** The SQL with `edit` applied to the text between string literals; literals kept as they are. */
function outsideLiterals(sql: string, edit: (code: string) => string): string {
  let result = "";
  let last = 0;
  for (const match of sql.matchAll(LITERAL)) {
    result += edit(sql.slice(last, match.index)) + match[0];
    last = match.index! + match[0].length;
  }
  return result + edit(sql.slice(last));
}

/** The SQL without its string literals. */
const codeOf = (sql: string) => sql.replace(LITERAL, "''");

const questionMarks = (sql: string) => [...codeOf(sql)].filter((c) => c === "?").length;
const dollarNumbers = (sql: string) => [...codeOf(sql).matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));

const literal = (value: BoundValue | undefined) => {
  assert.ok(value !== undefined, "a placeholder without a bound value");
  return typeof value === "number" ? String(value) : `'${value}'`;
};

/** The statement with each placeholder replaced by its bound value, as the server reads it. */
function inline(statement: Statement): string {
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

class Collector<S extends Statement> {
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

function warehouseStatements(dialect: MysqlDialect): Collector<MysqlStatement> {
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
  add("verifyRows", "", dialect.verifyRows(SCOPE, 1000, 1999));
  add("verifyGroupRows", "", dialect.verifyGroupRows(SCOPE, GROUP));
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

function olapStatements(dialect: PostgresDialect): {
  olap: Collector<PgStatement>;
  tenant: Collector<PgStatement>;
} {
  const olap = new Collector<PgStatement>("olap");
  const add = (method: string, detail: string, ...statements: PgStatement[]) =>
    olap.add(dialect.name, method, detail, statements);
  add("probeSession", "", ...dialect.probeSession());
  for (const readOnly of [true, false])
    add("session", `readOnly ${readOnly}`, ...dialect.session({ readOnly }));
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
    add("rejections", "5", t.rejections(5));
    add("deleteReplaced", "", t.deleteReplaced());
    add("insertRows", "", t.insertRows());
    add("analyze", "", t.analyze());
    const reclaim = t.reclaimDeleted();
    if (reclaim.length > 0) add("reclaimDeleted", "", ...reclaim);
    else tenantSql.called.add("tenant.reclaimDeleted"); // PostgreSQL: autovacuum
    add("checkLiveRows", "", t.checkLiveRows());
    const lock = t.lock();
    add("lock", "", ...Object.values(lock));
    add("restoreFromBackup", "", ...t.restoreFromBackup("exam_alt_score_backup_run1"));
    add("levelDistribution", "", t.levelDistribution("exam_alt_score"));
    add("countTable", "", t.countTable("exam_alt_score_backup_run1"));
    add("dropTable", "", t.dropTable("exam_alt_score_backup_run1"));
    add("tableExists", "", t.tableExists("exam_alt_score_backup_run1"));
    add("scopePage", "", t.scopePage(SINCE, "0", 1000));
    add("verifyGroups", "3 ids", t.verifyGroups(ALT_IDS, SINCE));
    add("verifyGroups", "1 id", t.verifyGroups([19], SINCE));
    add("verifyGroupRows", "", t.verifyGroupRows(ALT_IDS, SINCE, GROUP));
    add("verifyGroupScope", "", t.verifyGroupScope(SINCE, GROUP));
    add("verifyLevels", "", t.verifyLevels(ALT_IDS, SINCE));
    add("duplicateKeys", "", t.duplicateKeys(10));
    add("orphans", "", t.orphans(10));
  }
  return { olap, tenant: tenantSql };
}

const warehouses = [MYSQL, AURORA_2, AURORA_3].map(warehouseStatements);
const olaps = [POSTGRES, REDSHIFT].map(olapStatements);
const MYSQL_PRODUCED = warehouses.flatMap((c) => c.produced);
const PG_PRODUCED = olaps.flatMap(({ olap, tenant }) => [...olap.produced, ...tenant.produced]);

/**
 * Methods of the dialect classes that produce no statement of their own: helpers that return SQL
 * fragments to the statement methods, and checks that return text.
 */
const NOT_STATEMENTS = new Set([
  "warehouse.selection", // the row selection, a fragment of the extract and verify statements (see selectionOf)
  "warehouse.s3Preflight", // Aurora's preflight: messages, from facts already read
  "warehouse.s3RoleParameters", // parameter names (s3Role makes their statements)
  "warehouse.probeFailureHint", // a message
  "olap.memorySettings", // statements of session(), which lists them
  "tenant.workTable", // a table name
  "tenant.createWorkTable", // the start of a CREATE statement
  "tenant.inOlapExam", // a FROM … JOIN fragment of selectRows
  "tenant.inScope", // a FROM … WHERE fragment of the verify statements
  "tenant.table", // a quoted table name
  "tenant.rowChecksum", // an expression of verify's statements
  "tenant.hexToBigint", // an expression of rowChecksum
]);

function methodsOf(kind: string, classes: readonly { prototype: object }[]): string[] {
  return classes.flatMap(({ prototype }) =>
    Object.getOwnPropertyNames(prototype)
      .filter((name) => name !== "constructor")
      .filter((name) => typeof Object.getOwnPropertyDescriptor(prototype, name)?.value === "function")
      .map((name) => `${kind}.${name}`),
  );
}

describe("StatementBuilder", () => {
  it("MySQL: every placeholder is ?, values kept in the order they were bound", () => {
    const q = new StatementBuilder(MYSQL_WIRE);
    const text = `a = ${q.bind("x")} AND b IN (${q.bindAll([1, 2, 3])}) AND c = ${q.bind(4)}`;
    const statement = q.build(text);
    assert.equal(statement.sql, "a = ? AND b IN (?, ?, ?) AND c = ?");
    assert.deepEqual(statement.params, ["x", 1, 2, 3, 4]);
    assert.equal(statement.protocol, "mysql");
  });

  it("PostgreSQL: placeholders are numbered $1, $2, … in the order values are bound", () => {
    const q = new StatementBuilder(POSTGRES_WIRE);
    const text = `a = ${q.bind("x")} AND b IN (${q.bindAll([1, 2, 3])}) AND c = ${q.bind(4)}`;
    const statement = q.build(text);
    assert.equal(statement.sql, "a = $1 AND b IN ($2, $3, $4) AND c = $5");
    assert.deepEqual(statement.params, ["x", 1, 2, 3, 4]);
    assert.equal(statement.protocol, "postgres");
  });

  it("builds lines into one text, and a built statement does not change with later binds", () => {
    const q = new StatementBuilder(POSTGRES_WIRE);
    const first = q.build(["SELECT 1", `WHERE a = ${q.bind(1)}`]);
    assert.equal(first.sql, "SELECT 1\nWHERE a = $1");
    q.bind(2);
    assert.deepEqual(first.params, [1]);
    assert.deepEqual(q.build("").params, [1, 2]);
  });

  it("fixed statements have no bound values", () => {
    for (const wire of [MYSQL_WIRE, POSTGRES_WIRE]) {
      const statement = fixed<Protocol>(wire, ["SELECT 1", "FROM t"]);
      assert.deepEqual(statement, { protocol: wire.protocol, sql: "SELECT 1\nFROM t", params: [] });
    }
  });
});

describe("every statement of every dialect", () => {
  it("covers every statement-producing method of the dialect classes", () => {
    const called = new Set([
      ...warehouses.flatMap((c) => [...c.called]),
      ...olaps.flatMap(({ olap, tenant }) => [...olap.called, ...tenant.called]),
    ]);
    const methods = [
      ...methodsOf("warehouse", [MysqlDialect, AuroraDialect]),
      ...methodsOf("olap", [PostgresDialect, RedshiftDialect]),
      ...methodsOf("tenant", [PostgresTenantSql, RedshiftTenantSql]),
    ];
    const uncovered = methods.filter((method) => !called.has(method) && !NOT_STATEMENTS.has(method));
    assert.deepEqual(uncovered, [], "add them to warehouseStatements/olapStatements, or to NOT_STATEMENTS");
    assert.ok(MYSQL_PRODUCED.length > 40 && PG_PRODUCED.length > 60, "statements were collected");
  });

  it("MySQL and Aurora statements are written for the MySQL protocol", () => {
    for (const { origin, label, statement } of MYSQL_PRODUCED) {
      assert.equal(statement.protocol, "mysql", `${origin} ${label}`);
    }
  });

  it("PostgreSQL and Redshift statements are written for the PostgreSQL protocol", () => {
    for (const { origin, label, statement } of PG_PRODUCED) {
      assert.equal(statement.protocol, "postgres", `${origin} ${label}`);
    }
  });

  it("MySQL: as many ? outside string literals as bound values, and no $n", () => {
    for (const { origin, label, statement } of MYSQL_PRODUCED) {
      const where = `${origin} ${label}: ${statement.sql}`;
      assert.equal(questionMarks(statement.sql), statement.params.length, where);
      assert.deepEqual(dollarNumbers(statement.sql), [], where);
    }
  });

  it("PostgreSQL: $1..$n each once, in order of first appearance, n = bound values, and no ?", () => {
    for (const { origin, label, statement } of PG_PRODUCED) {
      const where = `${origin} ${label}: ${statement.sql}`;
      const expected = Array.from({ length: statement.params.length }, (_, index) => index + 1);
      assert.deepEqual(dollarNumbers(statement.sql), expected, where);
      assert.equal(questionMarks(statement.sql), 0, where);
    }
  });

  it("no statement carries an interpolation accident (undefined, null, NaN, [object Object])", () => {
    for (const { origin, label, statement } of [...MYSQL_PRODUCED, ...PG_PRODUCED]) {
      assert.ok(statement.sql.trim().length > 0, `${origin} ${label} is empty`);
      assert.doesNotMatch(
        codeOf(statement.sql),
        /\bundefined\b|\bnull\b|\bNaN\b|\[object /,
        `${origin} ${label}`,
      );
      for (const value of statement.params) {
        assert.ok(typeof value === "string" || Number.isFinite(value), `${origin} ${label}: ${value}`);
      }
    }
  });
});

describe("bound values land where their placeholders are", () => {
  it("MySQL stream extract: the window, the alt scores and the id range of the driving table", () => {
    for (const [driver, id] of [
      ["exam", "we.id"],
      ["exam_score", "wes.id"],
    ] as const) {
      const both = inline(MYSQL.streamExtract(SCOPE, driver, { low: 1000, high: 2000 }));
      for (const expected of [
        `we.updated >= '${SINCE}'`,
        "wes.subject_score_id IN (19, 20, 21)",
        `${id} >= 1000`,
        `${id} < 2000`,
      ]) {
        assert.ok(both.includes(expected), `${driver}: ${expected} in\n${both}`);
      }
      const lowOnly = inline(MYSQL.streamExtract(SCOPE, driver, { low: 1000, high: null }));
      assert.ok(lowOnly.includes(`${id} >= 1000`) && !lowOnly.includes(`${id} <`), lowOnly);
      const highOnly = inline(MYSQL.streamExtract(SCOPE, driver, { low: null, high: 2000 }));
      assert.ok(highOnly.includes(`${id} < 2000`) && !highOnly.includes(`${id} >=`), highOnly);
    }
  });

  it("MySQL verify drill-down and null census", () => {
    const rows = inline(MYSQL.verifyGroupRows(SCOPE, GROUP));
    assert.ok(rows.includes("we.school_year = 2020 AND we.asmt_id = 7 AND wes.subject_score_id = 19"), rows);
    assert.ok(rows.includes(`we.updated >= '${SINCE}'`), rows);
    const census = inline(MYSQL.nullCensus(SCOPE));
    assert.match(census, /SEPARATOR ','\), ',', 5\) AS example_ids/);
    assert.ok(census.includes("wes.subject_score_id IN (19, 20, 21)"), census);
  });

  it("MySQL id span and required columns name the database and tables", () => {
    assert.ok(
      inline(MYSQL.idSpan("warehouse_pa", "exam_score")).includes(
        "table_schema = 'warehouse_pa' AND table_name = 'exam_score'",
      ),
    );
    assert.ok(
      inline(MYSQL.requiredColumns("warehouse_pa", ["exam", "exam_score"])).includes(
        "table_schema = 'warehouse_pa' AND table_name IN ('exam', 'exam_score')",
      ),
    );
    assert.ok(inline(MYSQL.verifyRows(SCOPE, "101", "202")).endsWith("AND we.id BETWEEN '101' AND '202'"));
  });

  it("the window sample: 20 ascending, disjoint slices inside the id span, as many ids as it says", () => {
    // Spans of at least 20 ids (discovery samples only above 500,000 exams).
    for (const [lowest, highest] of [
      [1, 30_000_000],
      [500_000, 1_499_999],
      [1000, 1999],
      [7, 26],
    ] as const) {
      const { statement, sampledIds } = MYSQL.examsInWindowSample("warehouse_pa", SINCE, lowest, highest);
      const text = inline(statement);
      assert.ok(text.includes(`SUM(updated >= '${SINCE}')`), text);
      const slices = [...text.matchAll(/id BETWEEN (\d+) AND (\d+)/g)].map((m) => [
        Number(m[1]),
        Number(m[2]),
      ]);
      assert.equal(slices.length, 20);
      let covered = 0;
      slices.forEach(([low, high], index) => {
        assert.ok(low! <= high! && low! >= lowest && high! <= highest, `slice ${low}..${high}`);
        if (index > 0) assert.ok(low! > slices[index - 1]![1]!, "slices ascend and do not overlap");
        covered += high! - low! + 1;
      });
      assert.equal(covered, sampledIds);
    }
  });

  it("PostgreSQL verify statements, scope page, rejections and lock", () => {
    const t = POSTGRES.tenant("reporting_pa", "run1");
    const rows = inline(t.verifyGroupRows(ALT_IDS, SINCE, GROUP));
    assert.ok(rows.includes(`e.updated >= '${SINCE}' AND t.subject_score_id IN (19, 20, 21)`), rows);
    assert.ok(rows.includes("t.school_year = 2020 AND t.asmt_id = 7 AND t.subject_score_id = 19"), rows);
    assert.ok(
      inline(t.scopePage(SINCE, "12345", 1000)).endsWith(
        `WHERE updated >= '${SINCE}' AND id > '12345' ORDER BY id LIMIT 1000`,
      ),
    );
    assert.match(inline(t.rejections(5)), /WHERE example_rank <= 5\n/);
    assert.match(inline(t.duplicateKeys(10)), /LIMIT 10$/);
    const lock = t.lock();
    assert.ok(
      inline(lock.take).endsWith(
        "(run_id, host, pid, acquired_at) VALUES ('<run id>', '<host>', '<pid>', '<now>')",
      ),
    );
    assert.ok(inline(lock.release).endsWith("WHERE run_id = '<run id>'"));
    assert.ok(
      inline(t.tableExists("bk")).endsWith("WHERE table_schema = 'reporting_pa' AND table_name = 'bk'"),
    );
  });
});

describe("protocol typing", () => {
  it("a statement can only be sent on a session of its protocol (checked when the tests compile)", () => {
    // The parameter types of the real sessions: loosening them to `Statement` leaves the
    // expected errors below unused, and an unused expected error fails the build.
    const sendPg: (statement: Parameters<PgSession["query"]>[0]) => unknown = () => undefined;
    const sendMysql: (statement: Parameters<MysqlSession["query"]>[0]) => unknown = () => undefined;
    const sendPgStatement: (statement: PgStatement) => unknown = () => undefined;
    sendPg(POSTGRES.version());
    sendPg(REDSHIFT.tenant("reporting_pa", "run1").countLive());
    sendMysql(MYSQL.version());
    sendMysql(AURORA_3.grants());
    // @ts-expect-error -- a MySQL-protocol statement is not a PostgreSQL-protocol one
    sendPg(MYSQL.version());
    // @ts-expect-error -- Aurora speaks the MySQL protocol
    sendPg(AURORA_3.extractToS3(SCOPE, "s3://b/x"));
    // @ts-expect-error -- a PostgreSQL-protocol statement is not a MySQL-protocol one
    sendMysql(POSTGRES.version());
    // @ts-expect-error -- Redshift speaks the PostgreSQL protocol
    sendMysql(REDSHIFT.version());
    // @ts-expect-error -- PgStatement itself refuses the MySQL protocol
    sendPgStatement(fixed(MYSQL_WIRE, "SELECT 1"));
    // A builder's statements carry the protocol of its wire.
    // @ts-expect-error -- built on the MySQL wire
    sendPgStatement(new StatementBuilder(MYSQL_WIRE).build("SELECT 1"));
  });
});

describe("identifiers in SQL text", () => {
  const refused = ["a;drop", "../x", "", "a".repeat(64), "x`y", 'x"y', "a b", "1abc", "tenant-1"];

  for (const [name, quote] of [
    ["quoteMysql", quoteMysql],
    ["quotePg", quotePg],
  ] as const) {
    it(`${name} refuses anything but a plain identifier of at most 63 characters`, () => {
      for (const identifier of refused) {
        assert.throws(() => quote(identifier), ConfigError, JSON.stringify(identifier));
      }
      for (const identifier of ["warehouse_pa", "_x", "A1", "a".repeat(63)]) {
        assert.ok(quote(identifier).includes(identifier));
      }
    });
  }

  it("the dialects refuse a database or schema that is not a plain identifier", () => {
    assert.throws(() => MYSQL.altScoreIds("x`; drop table exam; --"), ConfigError);
    assert.throws(() => MYSQL.streamExtract({ ...SCOPE, database: "a;drop" }, "exam"), ConfigError);
    assert.throws(() => POSTGRES.tenant('x"; drop', "run1"), ConfigError);
    assert.throws(() => REDSHIFT.tenant("reporting_pa", "run1").countTable("../x"), ConfigError);
  });
});
