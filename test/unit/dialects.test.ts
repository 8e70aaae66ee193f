import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  chooseExtract,
  chooseLoad,
  detectOlapDialect,
  type ExtractMode,
  isRedshift,
  type LoadMode,
  type ModeRequest,
  olapDialect,
  type ServerFacts,
  serverSideProblems,
  warehouseDialect,
} from "../../src/dialects/choose.js";
import { AURORA_2, AURORA_3 } from "../../src/dialects/aurora.js";
import { chooseDriver, idRanges, MYSQL } from "../../src/dialects/mysql.js";
import { POSTGRES } from "../../src/dialects/postgres.js";
import { REDSHIFT, redshiftAuthorization } from "../../src/dialects/redshift.js";
import type { ExtractScope } from "../../src/dialects/types.js";
import { backupSpaceVerdict } from "../../src/plan/preflight.js";

const SCOPE: ExtractScope = {
  database: "warehouse_pa",
  altScoreIds: [19, 20, 21],
  since: "2019-11-01 00:00:00.000000",
};
const MANIFEST = "s3://rdw-qa-archive/pa/MigrateAdHoc/exam_alt_score/run1/exam_alt_score.manifest";
const ROLE = "arn:aws:iam::123456789012:role/rdw-redshift";

/** `version()` strings as the servers print them. */
const MARIADB_VERSION = "10.11.6-MariaDB-0+deb12u1";
const AURORA_MYSQL_VERSION = "8.0.32";
const POSTGRES_VERSION =
  "PostgreSQL 16.4 (Debian 16.4-1.pgdg120+1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit";
const REDSHIFT_VERSION =
  "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), Redshift 1.0.12345";

const AURORA_AND_REDSHIFT: ServerFacts = {
  auroraVersion: "3.04.0",
  warehouseVersion: AURORA_MYSQL_VERSION,
  olapVersion: REDSHIFT_VERSION,
};
const MARIADB_AND_POSTGRES: ServerFacts = {
  auroraVersion: undefined,
  warehouseVersion: MARIADB_VERSION,
  olapVersion: POSTGRES_VERSION,
};

describe("OLAP capabilities, as data and as the statements they describe", () => {
  it("PostgreSQL: unlogged work tables, rejections on a second session, COPY from stdin", () => {
    assert.equal(POSTGRES.capabilities.workTables, "unlogged");
    assert.equal(POSTGRES.capabilities.workTablesShared, true);
    assert.equal(POSTGRES.capabilities.copiesFrom, "stdin");
    assert.equal(POSTGRES.capabilities.readOnlySessions, true);
  });

  it("Redshift: temporary work tables, no second-session rejections, COPY from S3", () => {
    assert.equal(REDSHIFT.capabilities.workTables, "temporary");
    assert.equal(REDSHIFT.capabilities.workTablesShared, false);
    assert.equal(REDSHIFT.capabilities.copiesFrom, "s3");
    assert.equal(REDSHIFT.capabilities.readOnlySessions, false);
  });

  for (const dialect of [POSTGRES, REDSHIFT]) {
    const tenant = dialect.tenant("reporting_pa", "run1");
    const { workTables, copiesFrom, readOnlySessions } = dialect.capabilities;

    it(`${dialect.label}: the load statement copies from where copiesFrom (${copiesFrom}) says`, () => {
      const load = tenant.load(MANIFEST, { role: ROLE, form: "iam-role" });
      assert.equal(load.copiesFrom, copiesFrom);
      if (copiesFrom === "stdin") {
        assert.match(load.copy.sql, /\bFROM STDIN\b/);
      } else {
        assert.ok(load.copy.sql.includes(`FROM '${MANIFEST}'`), load.copy.sql);
        assert.match(load.copy.sql, /\bMANIFEST\b/);
      }
    });

    it(`${dialect.label}: the work tables are created as workTables (${workTables}) says`, () => {
      const creates = [tenant.createStage(), ...tenant.selectRows()]
        .map((s) => s.sql)
        .filter((sql) => /^CREATE /.test(sql));
      assert.equal(creates.length, 2, "the stage and the selected rows");
      for (const sql of creates) {
        assert.match(
          sql,
          workTables === "temporary" ? /^CREATE TEMP(ORARY)? TABLE / : /^CREATE UNLOGGED TABLE /,
        );
      }
      // Unlogged tables outlive the session and are named after the run; temporary ones go with it.
      if (workTables === "unlogged") {
        assert.ok(tenant.stage.includes("run1") && tenant.rows.includes("run1"));
        assert.ok(tenant.stage.startsWith('"reporting_pa".'), "in the tenant schema, visible to all");
        assert.deepEqual(
          tenant.dropWorkTables().map((s) => s.sql),
          [`DROP TABLE IF EXISTS ${tenant.stage}`, `DROP TABLE IF EXISTS ${tenant.rows}`],
        );
      } else {
        assert.deepEqual(tenant.dropWorkTables(), []);
      }
    });

    it(`${dialect.label}: a read-only session is ${readOnlySessions ? "" : "not "}set read-only`, () => {
      const readOnly = dialect.session({ readOnly: true }).map((s) => s.sql);
      assert.equal(
        readOnly.some((sql) => /READ ONLY/i.test(sql)),
        readOnlySessions,
      );
      assert.ok(!dialect.session({ readOnly: false }).some((s) => /READ ONLY/i.test(s.sql)));
    });

    it(`${dialect.label}: every session runs in UTC`, () => {
      for (const readOnly of [true, false]) {
        assert.ok(dialect.session({ readOnly }).some((s) => /^SET timezone TO 'UTC'$/i.test(s.sql)));
      }
    });
  }

  it("Redshift has no work_mem in its session; PostgreSQL sets it", () => {
    for (const readOnly of [true, false]) {
      assert.ok(!REDSHIFT.session({ readOnly }).some((s) => /work_mem/i.test(s.sql)));
      assert.ok(POSTGRES.session({ readOnly }).some((s) => /^SET work_mem\b/i.test(s.sql)));
    }
  });

  it("Redshift's COPY authenticates with IAM_ROLE, or the runbook's CREDENTIALS string", () => {
    assert.equal(redshiftAuthorization(ROLE, "iam-role"), `IAM_ROLE '${ROLE}'`);
    assert.equal(redshiftAuthorization(ROLE, "credentials"), `CREDENTIALS 'aws_iam_role=${ROLE}'`);
    // A configured value already in the credentials form keeps it, whatever form is asked for.
    for (const form of ["iam-role", "credentials"] as const) {
      assert.equal(redshiftAuthorization(`aws_iam_role=${ROLE}`, form), `CREDENTIALS 'aws_iam_role=${ROLE}'`);
    }
    const copy = REDSHIFT.tenant("reporting_pa", "run1").load(MANIFEST, { role: ROLE, form: "iam-role" }).copy
      .sql;
    assert.ok(copy.split("\n").includes(`IAM_ROLE '${ROLE}'`), copy);
  });
});

describe("warehouse capabilities", () => {
  it("Aurora extracts to S3 itself; MariaDB/MySQL does not", () => {
    assert.equal(AURORA_3.capabilities.extractsToS3, true);
    assert.equal(MYSQL.capabilities.extractsToS3, false);
  });

  it("MySQL's extractToS3 throws instead of writing a statement its server cannot run", () => {
    assert.throws(() => MYSQL.extractToS3(SCOPE, "s3://b/x"), /extractsToS3 is false/);
  });

  // "Saving data from an Amazon Aurora MySQL DB cluster into text files in an Amazon S3 bucket":
  // Aurora's manifest lists `s3-<region>://bucket/…` URLs and no "mandatory"; the tool writes its own.
  it("Aurora's extractToS3 writes INTO OUTFILE S3 to the target, without Aurora's manifest", () => {
    const target = "s3://rdw-qa-archive/pa/MigrateAdHoc/exam_alt_score/run1/exam_alt_score";
    const { sql } = AURORA_3.extractToS3(SCOPE, target);
    assert.ok(sql.includes(`INTO OUTFILE S3 '${target}'`), sql);
    assert.doesNotMatch(sql, /MANIFEST/);
    assert.match(sql, /^OVERWRITE ON$/m);
  });

  it("a location that would break out of its literal is refused, never written into a statement", () => {
    for (const target of ["s3://bucket/it's", "s3://bucket/a b", "s3://bucket/a\\b", "bucket/no-scheme"])
      assert.throws(() => AURORA_3.extractToS3(SCOPE, target), /cannot be written as a location literal/);
  });

  it("the staged count and the census read the extract's selection, in one consistent snapshot", () => {
    const count = AURORA_3.stagedCount(SCOPE).sql;
    const extract = AURORA_3.extractToS3(SCOPE, "s3://b/p").sql;
    const selection = count.slice(count.indexOf("FROM"));
    assert.ok(extract.includes(selection.trim()), "the count reads exactly the rows the extract writes");
    assert.equal(AURORA_3.snapshot().begin.sql, "START TRANSACTION WITH CONSISTENT SNAPSHOT");
  });

  it("a read-only warehouse session is set read-only, and every session runs in UTC", () => {
    for (const dialect of [MYSQL, AURORA_2, AURORA_3]) {
      const readOnly = dialect.session({ readOnly: true }).map((s) => s.sql);
      const writable = dialect.session({ readOnly: false }).map((s) => s.sql);
      assert.ok(readOnly.some((sql) => /READ ONLY/i.test(sql)));
      assert.ok(!writable.some((sql) => /READ ONLY/i.test(sql)));
      for (const sqls of [readOnly, writable]) assert.ok(sqls.includes("SET time_zone = '+00:00'"));
    }
  });

  // "Saving data from an Amazon Aurora MySQL DB cluster into text files in an Amazon S3 bucket":
  // version 2 grants SELECT INTO S3 and reads aurora_select_into_s3_role before aws_default_s3_role;
  // version 3 grants the AWS_SELECT_S3_ACCESS role, to be activated with SET ROLE, and reads only
  // aws_default_s3_role; "the administrative user … is granted the appropriate role or privilege by default".
  const ROLE_ARN = "arn:aws:iam::123456789012:role/aurora-s3";
  const preflight = (
    dialect: typeof AURORA_2,
    grants: string[],
    roles: Partial<Record<"aurora_select_into_s3_role" | "aws_default_s3_role", string>>,
  ) => dialect.s3Preflight({ currentUser: "rdw@%", grants, roles }, "rdw", "s3://b/p/");

  it("Aurora preflight, version 2: the SELECT INTO S3 grant, and either role parameter", () => {
    const none = preflight(AURORA_2, [], {});
    assert.equal(none.problems.length, 2);
    assert.match(none.problems[0]!, /GRANT SELECT INTO S3 ON \*\.\* TO 'rdw'@'%'/);
    assert.match(none.problems[1]!, /aurora_select_into_s3_role or aws_default_s3_role is not set/);
    const grant = ["GRANT SELECT INTO S3 ON *.* TO 'rdw'@'%'"];
    for (const parameter of ["aurora_select_into_s3_role", "aws_default_s3_role"] as const) {
      const ok = preflight(AURORA_2, grant, { [parameter]: ROLE_ARN });
      assert.deepEqual(ok.problems, [], parameter);
      assert.ok(ok.checked.some((line) => line.includes(`${parameter} names the IAM role ${ROLE_ARN}`)));
    }
    // The version 3 role is not the version 2 privilege.
    assert.equal(
      preflight(AURORA_2, ["GRANT `AWS_SELECT_S3_ACCESS`@`%` TO `rdw`@`%`"], {
        aws_default_s3_role: ROLE_ARN,
      }).problems.length,
      1,
    );
  });

  it("Aurora preflight, version 3: the AWS_SELECT_S3_ACCESS role or the master user's rds_superuser_role, and aws_default_s3_role", () => {
    for (const grant of [
      "GRANT `AWS_SELECT_S3_ACCESS`@`%` TO `rdw`@`%`",
      "GRANT `rds_superuser_role`@`%` TO `rdw`@`%`",
    ]) {
      assert.deepEqual(preflight(AURORA_3, [grant], { aws_default_s3_role: ROLE_ARN }).problems, [], grant);
    }
    const missing = preflight(AURORA_3, ["GRANT SELECT INTO S3 ON *.* TO 'rdw'@'%'"], {
      aurora_select_into_s3_role: ROLE_ARN,
    });
    assert.match(missing.problems[0]!, /GRANT AWS_SELECT_S3_ACCESS TO 'rdw'@'%'/);
    // aurora_select_into_s3_role is "not available in Aurora MySQL version 3".
    assert.match(missing.problems[1]!, /parameter aws_default_s3_role is not set/);
  });

  it("Aurora preflight says what only a write can prove", () => {
    const { unchecked } = preflight(AURORA_3, [], {});
    assert.match(unchecked.join("\n"), /may write s3:\/\/b\/p\/ .*run writes a one-row probe first/);
  });

  it("Aurora MySQL 3 sessions activate the granted roles; version 2 (MySQL 5.7, no roles) and MariaDB do not", () => {
    assert.ok(AURORA_3.session({ readOnly: true }).some((s) => s.sql === "SET ROLE ALL"));
    for (const dialect of [AURORA_2, MYSQL])
      assert.ok(!dialect.session({ readOnly: true }).some((s) => /SET ROLE/.test(s.sql)));
  });

  it("the probe writes one row under the probe folder, in the extract's format", () => {
    const probe = AURORA_3.probe("s3://b/p_probe/probe").sql;
    assert.match(
      probe,
      /^SELECT 1 AS probe\nINTO OUTFILE S3 's3:\/\/b\/p_probe\/probe'\nFIELDS TERMINATED BY/,
    );
  });

  it("a failed probe names what to set", () => {
    assert.match(
      AURORA_2.probeFailureHint(
        "Access denied; you need (at least one of) the SELECT INTO S3 privilege(s) for this operation",
        "s3://b/p/",
      ),
      /GRANT SELECT INTO S3/,
    );
    assert.match(
      AURORA_3.probeFailureHint(
        "S3 API returned error: Missing Credentials: Cannot instantiate S3 Client",
        "s3://b/p/",
      ),
      /set aws_default_s3_role/,
    );
    assert.match(
      AURORA_3.probeFailureHint("S3 API returned error: Access Denied:Access Denied", "s3://b/p/"),
      /s3:PutObject .* on s3:\/\/b\/p\/\*/,
    );
  });
});

describe("mode choice", () => {
  it("auto on Aurora: the aurora extract, server-side, because of @@aurora_version", () => {
    const choice = chooseExtract("auto", AURORA_AND_REDSHIFT);
    assert.deepEqual([choice.mode, choice.dialect, choice.serverSide], ["aurora", "aurora3", true]);
    assert.ok(choice.reason.includes(AURORA_AND_REDSHIFT.auroraVersion!), choice.reason);
  });

  it("auto on MariaDB: the streamed extract with the MySQL dialect, naming the version", () => {
    const choice = chooseExtract("auto", MARIADB_AND_POSTGRES);
    assert.deepEqual([choice.mode, choice.dialect, choice.serverSide], ["stream", "mysql", false]);
    assert.ok(choice.reason.includes(MARIADB_VERSION), choice.reason);
  });

  it("a forced --extract aurora uses Aurora's statements whatever the server is", () => {
    for (const facts of [MARIADB_AND_POSTGRES, AURORA_AND_REDSHIFT]) {
      const choice = chooseExtract("aurora", facts);
      assert.deepEqual(
        [choice.mode, choice.dialect, choice.serverSide, choice.reason],
        ["aurora", "aurora3", true, "--extract aurora"],
      );
      assert.equal(warehouseDialect(choice.dialect).capabilities.extractsToS3, true);
    }
  });

  it("a forced --extract stream streams, even from Aurora", () => {
    for (const facts of [MARIADB_AND_POSTGRES, AURORA_AND_REDSHIFT]) {
      const choice = chooseExtract("stream", facts);
      assert.deepEqual(
        [choice.mode, choice.serverSide, choice.reason],
        ["stream", false, "--extract stream"],
      );
    }
  });

  it("detects Redshift from its version() string, and PostgreSQL otherwise", () => {
    assert.equal(isRedshift(REDSHIFT_VERSION), true);
    assert.equal(isRedshift(POSTGRES_VERSION), false);
    assert.equal(detectOlapDialect(REDSHIFT_VERSION), REDSHIFT);
    assert.equal(detectOlapDialect(POSTGRES_VERSION), POSTGRES);
  });

  it("auto load: Redshift reads from S3 itself; PostgreSQL copies from stdin, naming the server", () => {
    const redshift = chooseLoad("auto", AURORA_AND_REDSHIFT);
    assert.deepEqual([redshift.mode, redshift.dialect, redshift.serverSide], ["redshift", "redshift", true]);
    assert.match(redshift.reason, /Redshift/);
    const postgres = chooseLoad("auto", MARIADB_AND_POSTGRES);
    assert.deepEqual([postgres.mode, postgres.dialect, postgres.serverSide], ["postgres", "postgres", false]);
    assert.ok(postgres.reason.includes("PostgreSQL 16.4"), postgres.reason);
    assert.ok(!postgres.reason.includes("x86_64"), "the platform after ' on ' is left out");
  });

  it("a forced load mode picks the named dialect whatever the server says", () => {
    const cases: [ModeRequest<LoadMode>, ServerFacts, LoadMode][] = [
      ["redshift", MARIADB_AND_POSTGRES, "redshift"],
      ["postgres", AURORA_AND_REDSHIFT, "postgres"],
    ];
    for (const [request, facts, mode] of cases) {
      const choice = chooseLoad(request, facts);
      assert.deepEqual([choice.mode, choice.dialect, choice.reason], [mode, mode, `--load ${mode}`]);
      assert.equal(choice.serverSide, olapDialect(mode).capabilities.copiesFrom === "s3");
    }
  });

  it("dialect names map to the dialects of that name", () => {
    for (const name of ["mysql", "aurora2", "aurora3"] as const)
      assert.equal(warehouseDialect(name).name, name);
    for (const name of ["postgres", "redshift"] as const) assert.equal(olapDialect(name).name, name);
  });
});

describe("serverSideProblems", () => {
  const problems = (
    extract: ModeRequest<ExtractMode>,
    load: ModeRequest<LoadMode>,
    facts: ServerFacts,
    stagingUri: string,
  ) => serverSideProblems(chooseExtract(extract, facts), chooseLoad(load, facts), facts, stagingUri);

  it("none for Aurora and Redshift with S3 staging", () => {
    assert.deepEqual(problems("auto", "auto", AURORA_AND_REDSHIFT, "s3://rdw-qa-archive/pa/"), []);
  });

  it("none for streaming into PostgreSQL, wherever the staging is", () => {
    for (const uri of ["file:///srv/staging/", "s3://rdw-qa-archive/pa/"]) {
      assert.deepEqual(problems("auto", "auto", MARIADB_AND_POSTGRES, uri), []);
    }
  });

  it("file:// staging: both server-side modes need S3", () => {
    const found = problems("auto", "auto", AURORA_AND_REDSHIFT, "file:///srv/staging/");
    assert.equal(found.length, 2, found.join("\n"));
    assert.ok(found.some((p) => /Aurora writes only to S3; staging is file:\/\/\/srv\/staging\//.test(p)));
    assert.ok(
      found.some((p) => /Redshift COPY reads only from S3; staging is file:\/\/\/srv\/staging\//.test(p)),
    );
  });

  it("forced server-side modes on a non-Aurora warehouse and a non-Redshift OLAP server", () => {
    const found = problems("aurora", "redshift", MARIADB_AND_POSTGRES, "s3://rdw-qa-archive/pa/");
    assert.equal(found.length, 2, found.join("\n"));
    assert.ok(found.some((p) => p.includes(`warehouse is not Aurora MySQL (version ${MARIADB_VERSION})`)));
    assert.ok(found.some((p) => p.includes("OLAP server is not Redshift (PostgreSQL 16.4")));
  });
});

describe("extract planning", () => {
  it("the driver is exam_score when the window holds a third of the exams or more", () => {
    assert.equal(chooseDriver(0, 0), "exam_score"); // an empty table: nothing to read either way
    assert.equal(chooseDriver(1, 300), "exam");
    assert.equal(chooseDriver(99, 300), "exam");
    assert.equal(chooseDriver(100, 300), "exam_score");
    assert.equal(chooseDriver(300, 300), "exam_score");
  });

  it("id ranges cover every id once, open-ended at both ends", () => {
    for (const [lowest, highest, count] of [
      [1, 1000, 4],
      [1000, 1999, 3],
      [5, 7, 5],
      [42, 42, 2],
    ] as const) {
      const ranges = idRanges(lowest, highest, count);
      assert.equal(ranges.length, count);
      assert.equal(ranges[0]!.low, null);
      assert.equal(ranges[ranges.length - 1]!.high, null);
      for (let i = 1; i < ranges.length; i++) assert.equal(ranges[i]!.low, ranges[i - 1]!.high);
      const holding = (id: number) =>
        ranges.filter((r) => (r.low === null || id >= r.low) && (r.high === null || id < r.high)).length;
      for (let id = lowest - 10; id <= highest + 10; id++) assert.equal(holding(id), 1, `id ${id}`);
    }
  });

  it("one open range when the table is empty or one stream is asked for", () => {
    const all = [{ low: null, high: null }];
    assert.deepEqual(idRanges(null, null, 4), all);
    assert.deepEqual(idRanges(1, 1000, 1), all);
  });
});

describe("Redshift housekeeping and room for the backup", () => {
  it("VACUUM DELETE ONLY after the replace on Redshift, a plain VACUUM on PostgreSQL; both ANALYZE", () => {
    const reclaim = (dialect: typeof POSTGRES) =>
      dialect
        .tenant("reporting_pa")
        .reclaimDeleted()
        .map((s) => s.sql);
    assert.deepEqual(reclaim(REDSHIFT), ['VACUUM DELETE ONLY "reporting_pa".exam_alt_score']);
    assert.deepEqual(reclaim(POSTGRES), ['VACUUM "reporting_pa".exam_alt_score']);
    for (const dialect of [POSTGRES, REDSHIFT])
      assert.equal(dialect.tenant("reporting_pa").analyze().sql, 'ANALYZE "reporting_pa".exam_alt_score');
  });

  it("the space check reads Redshift's 1 MB blocks; PostgreSQL does not tell its free space", () => {
    const space = REDSHIFT.diskSpace("reporting_pa");
    assert.match(space.free.sql, /FROM stv_partitions/);
    assert.match(
      space.tableSize.sql,
      /FROM svv_table_info WHERE "schema" = \$1 AND "table" = 'exam_alt_score'/,
    );
    assert.equal(POSTGRES.diskSpace("reporting_pa"), undefined);
  });

  it("the backup needs room for twice the table, and a refusal gives the numbers", () => {
    const tight = backupSpaceVerdict(1_500, 1_000);
    assert.match(
      tight.problems[0]!,
      /no room for the backup: 1,500 MB free, exam_alt_score takes 1,000 MB, .* need 2,000 MB/,
    );
    const roomy = backupSpaceVerdict(2_000, 1_000);
    assert.deepEqual(roomy.problems, []);
    assert.match(roomy.checked[0]!, /2,000 MB free/);
  });
});
