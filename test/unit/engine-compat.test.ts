import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Statement } from "../../src/core/statement.js";
import { statementsOf } from "../../src/plan/render.js";
import { sessionSetup, tenantActions } from "../../src/plan/tenant-actions.js";
import { codeOf, MYSQL_PRODUCED, PG_PRODUCED } from "./dialect-statements.js";
import { facts, settings } from "./sample-plan.js";

/**
 * Every statement the Redshift and Aurora MySQL 2 dialects can emit, checked against what AWS
 * documents as unsupported there. Redshift: "Unsupported PostgreSQL features", "Unsupported
 * PostgreSQL functions" and "Unsupported PostgreSQL data types" (Amazon Redshift Database
 * Developer Guide), plus type traps whose result type differs from PostgreSQL's. Aurora MySQL 2
 * is MySQL 5.7: no common table expressions, no window functions, no roles.
 */

interface Rule {
  name: string;
  pattern: RegExp;
  /** The documented fact the rule rests on. */
  source: string;
}

const word = (names: readonly string[]) => new RegExp(`\\b(${names.join("|")})\\s*\\(`, "i");

const REDSHIFT_RULES: Rule[] = [
  // "Unsupported PostgreSQL features"
  {
    name: "unlogged table",
    pattern: /\bUNLOGGED\b/i,
    source: "features: tablespaces, table partitioning…; CREATE TABLE has no UNLOGGED",
  },
  { name: "index", pattern: /\bCREATE\s+(UNIQUE\s+)?INDEX\b/i, source: "features: indexes" },
  {
    name: "sequence",
    pattern: /\b(CREATE\s+SEQUENCE|nextval|currval|setval)\b/i,
    source: "features: sequences",
  },
  { name: "trigger", pattern: /\bTRIGGER\b/i, source: "features: triggers" },
  { name: "inheritance", pattern: /\bINHERITS\b/i, source: "features: inheritance" },
  {
    name: "partitioning",
    pattern: /\bPARTITION\s+OF\b|\bPARTITION\s+BY\s+(RANGE|LIST|HASH)\b/i,
    source: "features: table partitioning",
  },
  { name: "tablespace", pattern: /\bTABLESPACE\b/i, source: "features: tablespaces" },
  {
    name: "array or row constructor",
    pattern: /\bARRAY\s*\[|\bROW\s*\(/i,
    source: "features: value expressions (array and row constructors)",
  },
  {
    name: "VALUES as a table",
    pattern: /\(\s*VALUES\b/i,
    source: "features: VALUES list used as constant tables",
  },
  { name: "collation", pattern: /\bCOLLATE\b/i, source: "features: collations" },
  {
    name: "NULLS in a window",
    pattern: /\bOVER\s*\([^)]*\bNULLS\b/i,
    source: "features: NULLS clause in window functions",
  },
  {
    name: "constraint",
    pattern: /\b(CHECK\s*\(|EXCLUDE\s+USING|FOREIGN\s+KEY)\b/i,
    source: "features: check and exclusion constraints; keys are informational",
  },
  // "Unsupported PostgreSQL functions"
  {
    name: "unsupported function",
    pattern: word([
      "string_agg",
      "array_agg",
      "every",
      "xml_agg",
      "corr",
      "covar_pop",
      "covar_samp",
      "regr_\\w+",
      "clock_timestamp",
      "justify_days",
      "justify_hours",
      "justify_interval",
      "pg_sleep",
      "transaction_timestamp",
      "div",
      "setseed",
      "width_bucket",
      "generate_series",
      "generate_subscripts",
      "bit_length",
      "overlay",
      "convert",
      "convert_from",
      "convert_to",
      "encode",
      "format",
      "quote_nullable",
      "regexp_matches",
      "regexp_split_to_array",
      "regexp_split_to_table",
      "inet_client_addr",
      "inet_client_port",
      "inet_server_addr",
      "inet_server_port",
      "pg_conf_load_time",
      "pg_is_other_temp_schema",
      "pg_listening_channels",
      "pg_my_temp_schema",
      "pg_postmaster_start_time",
      "pg_trigger_depth",
      "pg_advisory_\\w+",
      "pg_try_advisory_\\w+",
      "has_\\w+_privilege",
      "pg_\\w*_size",
      "txid_\\w+",
      "to_tsvector",
      "to_tsquery",
      "xmlparse",
      "unnest",
      "array_length",
      "pg_backup_start",
      "pg_start_backup",
    ]),
    source:
      "functions: aggregates, date/time, math, set-returning, string, system information, advisory lock, object size, transaction id, text search, XML, array",
  },
  {
    name: "IS DISTINCT FROM",
    pattern: /\bIS\s+(NOT\s+)?DISTINCT\s+FROM\b/i,
    source: "functions: IS DISTINCT FROM",
  },
  { name: "savepoint rollback", pattern: /\bROLLBACK\s+TO\b/i, source: "functions: ROLLBACK TO SAVEPOINT" },
  {
    name: "current_catalog or current_query",
    pattern: /\b(current_catalog|current_query)\b/i,
    source: "functions: system information",
  },
  // "Unsupported PostgreSQL data types" ("including explicit or implicit casts")
  {
    name: "unsupported data type",
    pattern:
      /(::|\bAS\s+)\s*(bit|varbit|bit\s+varying|bytea|hstore|jsonb?|serial|bigserial|smallserial|money|uuid|xml|inet|cidr|macaddr|oid|regclass|tsvector|tsquery|txid_snapshot|int4range|tstzrange|"char"|name)\b|\w+\[\]/i,
    source:
      "data types: BIT, BIT VARYING, BYTEA, HSTORE, JSON, SERIAL, MONEY, UUID, XML, network, object identifier, range, text search, TXID_SNAPSHOT, arrays",
  },
  // Type traps: documented result types that differ from PostgreSQL's
  {
    name: "epoch of a timestamptz",
    pattern: /\b(extract|date_part)\s*\(\s*'?epoch/i,
    source:
      "EXTRACT function: DOUBLE PRECISION if the source value is TIMESTAMPTZ (microseconds lost in a sum)",
  },
  {
    name: "sum or average of a float column",
    pattern: /\b(sum|avg)\s*\(\s*(t\.|s\.)?scale_score\s*\)/i,
    source: "SUM function: DOUBLE PRECISION for floating point arguments (not exact)",
  },
  {
    name: "LIMIT as a bound parameter",
    pattern: /\bLIMIT\s+\$\d+/i,
    source:
      "LIMIT $n fails for some parameter types (Redshift JDBC/Python driver issues); the LIMIT number must be a positive integer",
  },
  // Settings and statements PostgreSQL has and Redshift does not
  {
    name: "work_mem",
    pattern: /\bwork_mem\b/i,
    source: "Redshift has no work_mem; workload management gives a query its memory",
  },
  {
    name: "lock_timeout",
    pattern: /\block_timeout\b/i,
    source: "Redshift's configuration parameters have no lock_timeout",
  },
  {
    name: "session characteristics",
    pattern: /\bSESSION\s+CHARACTERISTICS\b/i,
    source: "SET: Redshift's configuration parameters have no transaction characteristics",
  },
  {
    name: "TRUNCATE",
    pattern: /\bTRUNCATE\b/i,
    source: "TRUNCATE: commits the transaction in which it is run",
  },
  {
    name: "ON CONFLICT",
    pattern: /\bON\s+CONFLICT\b/i,
    source: "INSERT: no ON CONFLICT (unique keys are informational)",
  },
];

const AURORA_2_RULES: Rule[] = [
  {
    name: "common table expression",
    pattern: /^\s*WITH\b|\bWITH\s+RECURSIVE\b|\)\s*,\s*\w+\s+AS\s*\(/im,
    source: "MySQL 5.7: no WITH (added in 8.0)",
  },
  {
    name: "window function",
    pattern: /\bOVER\s*\(|\b(ROW_NUMBER|RANK|DENSE_RANK|LAG|LEAD)\s*\(/i,
    source: "MySQL 5.7: no window functions (added in 8.0)",
  },
  {
    name: "role",
    pattern: /\bSET\s+(DEFAULT\s+)?ROLE\b/i,
    source: "MySQL 5.7: no roles (Aurora MySQL 2 grants SELECT INTO S3 directly)",
  },
  {
    name: "8.0 cast target",
    pattern: /\bAS\s+(DOUBLE|FLOAT|REAL)\s*\)/i,
    source: "MySQL 5.7: CAST to DOUBLE/FLOAT arrived in 8.0.17",
  },
  {
    name: "8.0 function",
    pattern: /\b(REGEXP_LIKE|REGEXP_REPLACE|REGEXP_SUBSTR|JSON_TABLE|BIN_TO_UUID|UUID_TO_BIN)\s*\(/i,
    source: "MySQL 5.7: these functions arrived in 8.0",
  },
  { name: "LATERAL", pattern: /\bLATERAL\b/i, source: "MySQL 5.7: no LATERAL derived tables (8.0.14)" },
];

/** The rules a statement breaks, read without its string literals. */
function broken(statement: Statement, rules: readonly Rule[]): string[] {
  const code = codeOf(statement.sql);
  return rules.filter((rule) => rule.pattern.test(code)).map((rule) => `${rule.name} (${rule.source})`);
}

/** Every statement of a Redshift- or Aurora-2 tenant's plan (all steps, backup included) and sessions. */
function planStatements(dialect: "redshift" | "aurora2"): { label: string; statement: Statement }[] {
  const tenantFacts = facts(
    "PA",
    "warehouse_pa",
    "reporting_pa",
    "s3://rdw-qa-archive/pa/run/",
    [19, 20],
    false,
    dialect === "aurora2" ? "aurora2" : "aurora3",
  );
  const sessions = sessionSetup(tenantFacts, { oneProcess: false });
  const kinds = dialect === "redshift" ? (["olap", "olapReader"] as const) : (["warehouse"] as const);
  const protocol = dialect === "redshift" ? "postgres" : "mysql";
  return [
    ...kinds.flatMap((kind) => sessions[kind].map((statement) => ({ label: `session ${kind}`, statement }))),
    ...tenantActions(tenantFacts, settings({}))
      .flatMap((action) =>
        statementsOf(action).map(([label, statement]) => ({ label: `${action.step}: ${label}`, statement })),
      )
      .filter(({ statement }) => statement.protocol === protocol),
  ];
}

const redshiftStatements = [
  ...PG_PRODUCED.filter(({ origin }) => origin.startsWith("redshift")).map(
    ({ origin, label, statement }) => ({
      label: `${origin} ${label}`,
      statement,
    }),
  ),
  ...planStatements("redshift"),
];
const aurora2Statements = [
  ...MYSQL_PRODUCED.filter(({ origin }) => origin === "aurora2").map(({ origin, label, statement }) => ({
    label: `${origin} ${label}`,
    statement,
  })),
  ...planStatements("aurora2"),
];

describe("engine compatibility: what AWS documents as unsupported is never emitted", () => {
  it("the rules catch the defects they are written for (the old verify sum, LIMIT $1, a CTE, a window)", () => {
    const pg = (sql: string): Statement => ({ protocol: "postgres", sql, params: [] });
    const my = (sql: string): Statement => ({ protocol: "mysql", sql, params: [] });
    assert.match(
      broken(pg("SELECT sum(extract(epoch FROM t.updated)) FROM t"), REDSHIFT_RULES).join(),
      /epoch/,
    );
    assert.match(broken(pg("SELECT id FROM t ORDER BY id LIMIT $3"), REDSHIFT_RULES).join(), /LIMIT/);
    assert.match(
      broken(pg("SELECT ('x' || md5(a))::bit(32)::bigint FROM t"), REDSHIFT_RULES).join(),
      /data type/,
    );
    assert.match(broken(pg("CREATE UNLOGGED TABLE x (LIKE y)"), REDSHIFT_RULES).join(), /unlogged/);
    assert.match(broken(pg("SET work_mem = '128MB'"), REDSHIFT_RULES).join(), /work_mem/);
    assert.match(broken(pg("SET lock_timeout = '120s'"), REDSHIFT_RULES).join(), /lock_timeout/);
    assert.match(broken(my("WITH x AS (SELECT 1) SELECT * FROM x"), AURORA_2_RULES).join(), /common table/);
    assert.match(
      broken(my("SELECT ROW_NUMBER() OVER (ORDER BY id) FROM t"), AURORA_2_RULES).join(),
      /window/,
    );
    // Literals are not code: a string may say anything.
    assert.deepEqual(broken(pg("SELECT 'LIMIT $1 ARRAY[1] UNLOGGED' AS s"), REDSHIFT_RULES), []);
  });

  it("gathers the Redshift dialect's statements: every method's and the whole plan's", () => {
    assert.ok(redshiftStatements.length > 80, String(redshiftStatements.length));
    for (const step of ["lock", "backup", "load", "merge", "analyze", "verify", "unlock"])
      assert.ok(
        redshiftStatements.some(({ label }) => label.startsWith(`${step}:`)),
        step,
      );
    assert.ok(redshiftStatements.some(({ statement }) => /COPY [^;]*\sFROM 's3:/.test(statement.sql)));
  });

  it("no Redshift statement uses an unsupported feature, function or data type, or a type trap", () => {
    const offences = redshiftStatements.flatMap(({ label, statement }) =>
      broken(statement, REDSHIFT_RULES).map((rule) => `${label}: ${rule}`),
    );
    assert.deepEqual(offences, []);
  });

  it("gathers the Aurora MySQL 2 dialect's statements: every method's and the whole plan's", () => {
    assert.ok(aurora2Statements.length > 20, String(aurora2Statements.length));
    assert.ok(aurora2Statements.some(({ statement }) => /INTO OUTFILE S3/.test(statement.sql)));
    assert.ok(aurora2Statements.some(({ label }) => label.startsWith("verify:")));
  });

  it("no Aurora MySQL 2 statement needs MySQL 8.0", () => {
    const offences = aurora2Statements.flatMap(({ label, statement }) =>
      broken(statement, AURORA_2_RULES).map((rule) => `${label}: ${rule}`),
    );
    assert.deepEqual(offences, []);
  });
});

describe("verify's warehouse side writes nothing (it runs on a reader endpoint)", () => {
  it("every warehouse statement of verify is a SELECT or sets a user variable, on a read-only session", () => {
    for (const dialect of ["aurora2", "aurora3"] as const) {
      const tenantFacts = facts("PA", "warehouse_pa", "reporting_pa", "s3://b/pa/run/", [19], false, dialect);
      const verify = tenantActions(tenantFacts, settings({})).find((action) => action.step === "verify")!;
      const warehouse = statementsOf(verify).filter(([, statement]) => statement.protocol === "mysql");
      assert.ok(warehouse.length >= 2);
      // A user variable lives in the session's memory: a reader endpoint and a read-only
      // transaction accept it ("User-Defined Variables" in the MySQL manual).
      for (const [label, statement] of warehouse)
        assert.match(statement.sql, /^(SELECT\b(?![\s\S]*\bINTO\b)|SET @rdw_backfill_\w+ = )/, label);
      assert.ok(
        sessionSetup(tenantFacts, { oneProcess: false }).warehouse.some(
          (s) => s.sql === "SET SESSION TRANSACTION READ ONLY",
        ),
      );
    }
  });
});
