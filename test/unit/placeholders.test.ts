import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/core/errors.js";
import { fixed, type PgStatement, type Protocol, StatementBuilder } from "../../src/core/statement.js";
import { AURORA_3, AuroraDialect } from "../../src/dialects/aurora.js";
import { MYSQL, MYSQL_WIRE, MysqlDialect, quoteMysql } from "../../src/dialects/mysql.js";
import {
  POSTGRES,
  POSTGRES_WIRE,
  PostgresDialect,
  PostgresTenantSql,
  quotePg,
} from "../../src/dialects/postgres.js";
import { REDSHIFT, RedshiftDialect, RedshiftTenantSql } from "../../src/dialects/redshift.js";
import type { MysqlSession } from "../../src/io/db/mysql-session.js";
import type { PgSession } from "../../src/io/db/pg-session.js";

import {
  SINCE,
  SCOPE,
  ALT_IDS,
  GROUP,
  codeOf,
  questionMarks,
  dollarNumbers,
  inline,
  warehouses,
  olaps,
  MYSQL_PRODUCED,
  PG_PRODUCED,
  NOT_STATEMENTS,
  methodsOf,
} from "./dialect-statements.js";

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
        assert.ok(
          typeof value === "string" || value instanceof Uint8Array || Number.isFinite(value),
          `${origin} ${label}: ${String(value)}`,
        );
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
    const bitmap = { low: 101, high: 202, bits: Buffer.from([0x0a, 0xff]) };
    const rangeSums = inline(MYSQL.verifyRangeSums(SCOPE, { low: 7, high: 70 }, bitmap));
    assert.ok(rangeSums.includes("AND wes.id >= 7\n  AND wes.id < 70\n  AND we.id BETWEEN 101 AND 202"));
    // The bitmap's byte and bit are counted from its first exam id; its bytes are a hex literal.
    assert.ok(
      rangeSums.includes(
        "AND ASCII(SUBSTRING(X'0aff', (we.id - 101) DIV 8 + 1, 1)) & (1 << ((we.id - 101) % 8)) <> 0",
      ),
      rangeSums,
    );
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
    assert.match(inline(t.rejections(5).withTwins), /WHERE example_rank <= 5\n/);
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
