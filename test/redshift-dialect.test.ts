import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { resolveConfig } from "../src/config/settings.js";
import { quoteMysql } from "../src/dialects/mysql.js";
import { buildPlan, runPlan, silentProgress } from "../src/index.js";
import type { CheckStagingAction, ServerExtractAction } from "../src/plan/actions.js";
import { quotePg } from "../src/dialects/postgres.js";
import { s3ClientConfig } from "../src/io/staging/s3.js";
import type { RunReport } from "../src/report/summary.js";
import { asLines, expectedAltScores } from "./helpers/oracle.js";
import {
  installClientTranslation,
  installRedshiftStandIns,
  PAUSE_ENV,
  PAUSE_MESSAGE,
  REDSHIFT_STAND_INS,
  REDSHIFT_VERSION,
  SUPPORT_SCHEMA,
  VARIANT_ENV,
} from "./helpers/redshift-stand-ins.js";
import { BUCKET, CLI, sampleDataset, World } from "./helpers/world.js";

const SINCE = "2019-11-01 00:00:00";
const ZERO_DATE = "0000-00-00 00:00:00";

/**
 * The Redshift dialect end to end: the command line as operators run it, without --load or
 * --extract, on the local PostgreSQL with only the stand-ins of helpers/redshift-stand-ins.ts
 * (version(), COPY from S3 read from the real S3-compatible server, pg_last_copy_*, strtol, the
 * load error system views). Auto-detection must choose Redshift because version() says so.
 */
describe("the Redshift dialect end to end on the Redshift stand-ins", () => {
  let world: World;
  let s3: S3Client;
  const initial = new Map<string, string[]>();
  const expected = (id: string) => asLines(expectedAltScores(world.tenant(id).dataset, SINCE));
  const children: ChildProcess[] = [];
  let firstRun = "";

  before(async () => {
    world = await World.create({
      staging: "s3",
      olap: "redshift-stand-in",
      tenants: [
        { id: "RA", pathPrefix: "ra", dataset: sampleDataset(150, 91) },
        // Found through its login's current_schema(), which the stand-in's search_path keeps.
        {
          id: "RB_S001",
          pathPrefix: "rb_s001",
          sandbox: true,
          schema: "sandbox_rb_olap",
          dataset: sampleDataset(60, 92),
        },
        { id: "RE", pathPrefix: "re", dataset: sampleDataset(40, 93) },
      ],
    });
    const env = world.s3!.env;
    s3 = new S3Client({
      ...s3ClientConfig(env),
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
    });
    // RE: one exam in the window completed at MariaDB's zero date, which no timestamptz can hold.
    const bad = expectedAltScores(world.tenant("RE").dataset, SINCE).find((row) => row.migrateId === -1)!;
    await world.withMysql((connection) =>
      connection.query(
        `UPDATE ${quoteMysql(world.tenant("RE").warehouseDatabase)}.exam SET completed_at = ?, updated = updated WHERE id = ?`,
        [ZERO_DATE, bad.examId],
      ),
    );
    for (const tenant of world.tenants) initial.set(tenant.id, await world.altScores(tenant.id));
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    s3?.destroy();
    await world?.destroy();
  });

  const stagedKeys = async (prefix: string) =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map(
      (object) => object.Key!,
    );
  const stagedText = async (key: string) => {
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return object.Body!.transformToString();
  };

  it("plan chooses the Redshift load because version() names Redshift, and shows the COPY from the manifest", async () => {
    const result = await world.runCli(["plan", "--config", world.configDir, "--tenant", "RA"]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /load: +redshift \(auto: version\(\) names Redshift\)/);
    assert.match(
      result.stdout,
      /COPY backfill_stage \(id, exam_id, [a-z_, ]+\)\s+FROM 's3:\/\/rdw-test-archive\/ra\/MigrateAdHoc\/exam_alt_score\/\d{8}_\d{6}_[0-9a-f]{4}\/exam_alt_score\.manifest'\s+IAM_ROLE 'arn:aws:iam::123456789012:role\/rdw-test'\s+FORMAT AS CSV\s+NULL AS '\\\\N'\s+TIMEFORMAT 'auto'\s+MANIFEST\s+COMPUPDATE OFF\s+STATUPDATE OFF\s+MAXERROR 0/,
    );
    assert.doesNotMatch(result.stdout, /PROBLEM/);
  });

  it("run back-fills through COPY from S3 to exactly the specified end state, and verify agrees", async () => {
    const result = await world.runBackfill(["--tenant", "RA", "--tenant", "RB_S001", "--json"]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout) as RunReport;
    firstRun = report.runId;
    for (const tenant of report.tenants) {
      assert.equal(tenant.status, "succeeded", `${tenant.tenant}: ${tenant.error}`);
      assert.equal(tenant.verification?.ok, true, tenant.tenant);
    }
    assert.equal(report.tenants[1]!.olapSchema, "sandbox_rb_olap");
    assert.deepEqual(await world.altScores("RA"), expected("RA"));
    assert.deepEqual(await world.altScores("RB_S001"), expected("RB_S001"));

    const verify = await world.runCli([
      "verify",
      "--config",
      world.configDir,
      "--tenant",
      "RA",
      "--tenant",
      "RB_S001",
      "--json",
    ]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  it("rollback restores the exact previous contents from the run's backup", async () => {
    assert.ok(firstRun, "the run above succeeded");
    const result = await world.runCli(["rollback", firstRun, "--yes", "--journal-dir", world.journalDir]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(await world.altScores("RA"), initial.get("RA"));
    assert.deepEqual(await world.altScores("RB_S001"), initial.get("RB_S001"));
  });

  it("after kill -9 during the COPY from S3, the same run command resumes to the uninterrupted result", async () => {
    const args = world.runArgs("run", "--new-run", "--tenant", "RA");
    const child = spawn(process.execPath, [CLI, ...args], { env: world.cliEnv({ [PAUSE_ENV]: "copy" }) });
    children.push(child);
    let stderr = "";
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no COPY under way; stderr:\n${stderr}`)), 30_000);
      child.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes(PAUSE_MESSAGE)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => reject(new Error(`exited before the COPY:\n${stderr}`)));
    });
    child.kill("SIGKILL");
    await exited;
    assert.deepEqual(await world.altScores("RA"), initial.get("RA"), "nothing changed by the killed run");
    const again = await world.runCli(world.runArgs("run", "--tenant", "RA"));
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stderr, /Resuming run \d{8}_\d{6}_[0-9a-f]{4}/);
    assert.deepEqual(await world.altScores("RA"), expected("RA"));
  });

  it("cleanup drops the run's backup tables and deletes its staged files", async () => {
    const backup = `exam_alt_score_backup_${firstRun}`;
    assert.ok(await world.tableExists("RA", backup));
    assert.ok((await stagedKeys(`ra/MigrateAdHoc/exam_alt_score/${firstRun}/`)).length > 0);
    const result = await world.runCli(["cleanup", firstRun, "--yes", "--journal-dir", world.journalDir]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /RA: removed .*staged objects/);
    assert.equal(await world.tableExists("RA", backup), false);
    assert.equal(await world.tableExists("RB_S001", backup), false);
    assert.deepEqual(await stagedKeys(`ra/MigrateAdHoc/exam_alt_score/${firstRun}/`), []);
  });

  it("a tenant with nothing in the window succeeds and changes nothing", async () => {
    const before = await world.altScores("RB_S001");
    const result = await world.runBackfill(["--tenant", "RB_S001", "--since", "2099-01-01", "--json"]);
    const report = JSON.parse(result.stdout || "{}") as Partial<RunReport>;
    assert.equal(result.code, 0, report.tenants?.[0]?.error ?? result.stderr);
    assert.equal(report.tenants?.[0]?.loaded, 0);
    assert.deepEqual(await world.altScores("RB_S001"), before);
  });

  it("Aurora's extract with nothing to write (no part at all) loads nothing through Redshift's path and succeeds", async () => {
    // In this process: Aurora's statement cannot run on MariaDB against S3, so it is replaced by
    // one that writes nothing, as Aurora may do for zero rows; the probe by a plain SELECT.
    const uninstall = installClientTranslation({ variant: "provisioned", env: world.cliEnv() });
    // The tool's S3 client reads this process's environment, as the command line's does its own.
    const saved = { ...process.env };
    Object.assign(process.env, world.s3!.env);
    try {
      const before = await world.altScores("RB_S001");
      const config = resolveConfig({
        configDir: world.configDir,
        tenants: ["RB_S001"],
        since: "2099-01-01",
        env: world.cliEnv(),
      });
      const plan = await buildPlan(config, { backup: false, partBytes: 1 << 20, extract: "aurora" });
      assert.deepEqual(plan.failed, []);
      const tenant = plan.tenants[0]!;
      assert.equal(tenant.load.mode, "redshift");
      tenant.sessions.warehouse = tenant.sessions.warehouse.filter(
        (statement) => statement.sql !== "SET ROLE ALL",
      );
      const extract = tenant.actions.find((action) => action.step === "extract") as ServerExtractAction;
      extract.statement = { ...extract.statement, sql: "SELECT 1 FROM DUAL WHERE FALSE", params: [] };
      const check = tenant.actions.find((action) => action.step === "check-staging") as CheckStagingAction;
      check.auroraProbe!.statement = { ...check.auroraProbe!.statement, sql: "SELECT 1" };
      tenant.problems = [];
      const report = await runPlan(plan, {
        progress: silentProgress,
        failFast: false,
        journalDir: world.journalDir,
      });
      const result = report.tenants[0]!;
      assert.equal(result.status, "succeeded", result.error);
      assert.deepEqual([result.extracted, result.loaded], [0, 0]);
      assert.deepEqual(await world.altScores("RB_S001"), before);
    } finally {
      uninstall();
      for (const key of Object.keys(world.s3!.env)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  it("plan refuses a tenant the cluster has no room to back up, with the numbers; run touches nothing", async () => {
    const setDisk = (capacity: number, used: number) =>
      world.withPg((client) =>
        client.query(`UPDATE ${SUPPORT_SCHEMA}.disk SET capacity = $1, used = $2`, [capacity, used]),
      );
    const before = await world.altScores("RA");
    await setDisk(1000, 999);
    try {
      const plan = await world.runCli(["plan", "--config", world.configDir, "--tenant", "RA"]);
      assert.equal(plan.code, 1, plan.stdout + plan.stderr);
      assert.match(
        plan.stdout,
        /PROBLEM: +the OLAP cluster has no room for the backup: 1 MB free, exam_alt_score takes \d+ MB/,
      );
      const run = await world.runBackfill(["--tenant", "RA"]);
      assert.equal(run.code, 1);
      assert.match(run.stdout, /RA: failed: preflight: the OLAP cluster has no room for the backup/);
      assert.deepEqual(await world.altScores("RA"), before);
      // Without a backup, no room is needed.
      const noBackup = await world.runCli([
        "plan",
        "--config",
        world.configDir,
        "--tenant",
        "RA",
        "--no-backup",
      ]);
      assert.doesNotMatch(noBackup.stdout, /no room for the backup/);
    } finally {
      await setDisk(1_048_576, 0);
    }
    const roomy = await world.runCli(["plan", "--config", world.configDir, "--tenant", "RA"]);
    assert.match(roomy.stdout, /checked: +room for the backup: 1,048,576 MB free/);
  });

  /** Runs RE, whose staged part holds a zero date, and returns the report and where the bad line is. */
  async function runRefusedCopy(env: NodeJS.ProcessEnv) {
    const result = await world.runBackfill(["--tenant", "RE", "--no-verify", "--json"], env);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout) as RunReport;
    const folder = `re/MigrateAdHoc/exam_alt_score/${report.runId}/`;
    const parts = (await stagedKeys(folder)).filter((key) => key.includes(".part_"));
    assert.equal(parts.length, 1, `one staged part: ${parts.join(", ")}`);
    const lines = (await stagedText(parts[0]!)).split("\n");
    const line = lines.findIndex((text) => text.includes(ZERO_DATE)) + 1;
    assert.ok(line > 0, "the zero date was staged");
    assert.deepEqual(await world.altScores("RE"), initial.get("RE"), "nothing loaded");
    return { tenant: report.tenants[0]!, line, part: `s3://${BUCKET}/${parts[0]}` };
  }

  const loadErrorRows = (view: "stl_load_errors" | "sys_load_error_detail") =>
    world.withPg(async (client) => {
      const columns =
        view === "stl_load_errors"
          ? "query AS q, trim(filename) AS file, line_number, trim(colname) AS col, err_code AS code, trim(err_reason) AS reason, trim(raw_field_value) AS value"
          : "query_id AS q, trim(file_name) AS file, line_number, trim(column_name) AS col, error_code AS code, trim(error_message) AS reason";
      return (await client.query(`SELECT ${columns} FROM ${view} ORDER BY 1`)).rows;
    });

  it("provisioned: a COPY that refuses a row is reported from stl_load_errors, with line, column, reason and value", async () => {
    const before = await loadErrorRows("stl_load_errors");
    const { tenant, line, part } = await runRefusedCopy({ [VARIANT_ENV]: "provisioned" });
    const reason = "Invalid timestamp format or value [YYYY-MM-DD HH24:MI:SS]";
    const logged = (await loadErrorRows("stl_load_errors")).slice(before.length);
    assert.deepEqual(
      logged.map(({ q: _q, ...row }) => row),
      [{ file: part, line_number: String(line), col: "completed_at", code: 1206, reason, value: ZERO_DATE }],
    );
    assert.equal(tenant.status, "failed");
    assert.match(
      tenant.error ?? "",
      new RegExp(
        `COPY rejected the staged rows, nothing loaded: line ${line}, column completed_at: Invalid timestamp`,
      ),
    );
    assert.deepEqual(tenant.loadErrors, [{ line, column: "completed_at", reason, value: ZERO_DATE }]);
  });

  it("serverless: stl_load_errors stays empty and the refused row is reported from sys_load_error_detail", async () => {
    const stlBefore = await loadErrorRows("stl_load_errors");
    const sysBefore = await loadErrorRows("sys_load_error_detail");
    const { tenant, line, part } = await runRefusedCopy({ [VARIANT_ENV]: "serverless" });
    const reason = "Invalid timestamp format or value [YYYY-MM-DD HH24:MI:SS]";
    assert.deepEqual(await loadErrorRows("stl_load_errors"), stlBefore);
    const logged = (await loadErrorRows("sys_load_error_detail")).slice(sysBefore.length);
    assert.deepEqual(
      logged.map(({ q: _q, ...row }) => row),
      [{ file: part, line_number: String(line), col: "completed_at", code: 1206, reason }],
    );
    assert.equal(tenant.status, "failed");
    assert.match(
      tenant.error ?? "",
      new RegExp(
        `COPY rejected the staged rows, nothing loaded: line ${line}, column completed_at: Invalid timestamp`,
      ),
    );
    assert.deepEqual(
      tenant.loadErrors?.map(({ line, column, reason }) => ({ line, column, reason })),
      [{ line, column: "completed_at", reason }],
    );
  });
});

/**
 * The stand-ins themselves, installed in this process as a library-level test would
 * (installRedshiftStandIns on a plain PostgreSQL world): what each does is what the Redshift
 * documentation says, so that the tests above test the dialect, not the stand-in.
 */
describe("the Redshift stand-ins answer as Redshift documents", () => {
  let world: World;
  let s3: S3Client;
  let admin: pg.Client;
  let standIns: { uninstall(): Promise<void> } | undefined;
  const folder = "standin/";

  const login = (user: string) => {
    const { host, port, password } = world.servers.pg;
    return { host, port, user, password, database: world.pgDatabase };
  };
  async function withClient<T>(user: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client(login(user));
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }
  const put = (key: string, body: string) =>
    s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: folder + key, Body: body }));
  const manifest = (name: string, entries: { url: string; mandatory?: boolean }[]) =>
    put(name, JSON.stringify({ entries }));
  const copyStatement = (table: string, manifestKey: string, extra = "MAXERROR 0") =>
    [
      `COPY ${table} (id, at, note)`,
      `FROM 's3://${BUCKET}/${folder}${manifestKey}'`,
      "CREDENTIALS 'aws_iam_role=arn:aws:iam::123456789012:role/rdw-test'",
      "FORMAT AS CSV",
      "NULL AS '\\\\N'",
      "TIMEFORMAT 'auto'",
      "MANIFEST",
      extra,
    ].join("\n");
  const createTable = (client: pg.Client) =>
    client.query("CREATE TEMP TABLE t (id bigint NOT NULL, at timestamptz NOT NULL, note text)");

  before(async () => {
    world = await World.create({
      staging: "s3",
      tenants: [{ id: "SI", pathPrefix: "si", dataset: sampleDataset(5, 94) }],
    });
    const env = world.s3!.env;
    s3 = new S3Client({
      ...s3ClientConfig(env),
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
    });
    await put("a.csv", '1,2020-01-02 03:04:05.5,"x, ""quoted"""\n2,2020-01-02 03:04:06,\\N\n');
    await put("b.csv", "3,2021-06-30 23:59:59,b"); // no final newline
    await put("bad.csv", "4,2020-01-01 00:00:00,ok\n5,soon,bad\n");
    admin = new pg.Client(login(world.servers.pg.user));
    await admin.connect();
    standIns = await installRedshiftStandIns(admin, {
      database: world.pgDatabase,
      roles: [world.tenant("SI").olapUser],
      variant: "provisioned",
      env,
    });
  });
  after(async () => {
    await standIns?.uninstall();
    await admin?.end();
    s3?.destroy();
    await world?.destroy();
  });

  it("lists every stand-in with what Redshift has, what stands in and why it is faithful", () => {
    for (const standIn of REDSHIFT_STAND_INS) {
      assert.ok(standIn.redshift && standIn.standIn && standIn.faithful, standIn.name);
      assert.ok(standIn.install || standIn.translation, `${standIn.name} is installed somehow`);
    }
  });

  it("version() names Redshift for the admin and the tenant login; the tenant's current_schema() is kept", async () => {
    const tenant = world.tenant("SI");
    for (const user of [world.servers.pg.user, tenant.olapUser]) {
      await withClient(user, async (client) => {
        const { rows } = await client.query("SELECT version() AS v, current_schema() AS s");
        assert.equal(rows[0].v, REDSHIFT_VERSION, user);
        if (user === tenant.olapUser) assert.equal(rows[0].s, tenant.schema);
      });
    }
  });

  it("strtol gives the documented examples", async () => {
    await withClient(world.tenant("SI").olapUser, async (client) => {
      const { rows } = await client.query(
        "SELECT strtol('0xf', 16) a, strtol('abcd1234', 16) b, strtol('1234567', 10) c, strtol('1234567', 8) d, strtol('110101', 2) e, strtol('', 10) f, strtol(NULL, 10) g, strtol('  -7fffffffffffffff', 16) h",
      );
      assert.deepEqual(rows[0], {
        a: "15",
        b: "2882343476",
        c: "1234567",
        d: "342391",
        e: "53",
        f: "0",
        g: null,
        h: "-9223372036854775807",
      });
      await assert.rejects(client.query("SELECT strtol('10000000000000000', 16)"), /bigint out of range/);
    });
  });

  it("COPY from a manifest loads every listed file in one all-or-nothing COPY; pg_last_copy_count/id follow it", async () => {
    await manifest("two.manifest", [
      { url: `s3://${BUCKET}/${folder}a.csv`, mandatory: true },
      { url: `s3://${BUCKET}/${folder}missing.csv`, mandatory: false },
      { url: `s3://${BUCKET}/${folder}b.csv` },
    ]);
    await withClient(world.tenant("SI").olapUser, async (client) => {
      await client.query("SET timezone TO 'America/New_York'"); // TIMEFORMAT 'auto' reads UTC regardless
      const fresh = await client.query("SELECT pg_last_copy_id() AS id, pg_last_copy_count() AS n");
      assert.deepEqual(fresh.rows[0], { id: -1, n: "0" });
      await createTable(client);
      const result = await client.query(copyStatement("t", "two.manifest"));
      assert.equal(result.command, "COPY");
      assert.equal(result.rowCount, 3);
      const { rows } = await client.query(
        "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at, note, current_setting('TimeZone') AS tz FROM t ORDER BY id",
      );
      assert.deepEqual(rows, [
        { id: "1", at: "2020-01-02 03:04:05.500000", note: 'x, "quoted"', tz: "America/New_York" },
        { id: "2", at: "2020-01-02 03:04:06.000000", note: null, tz: "America/New_York" },
        { id: "3", at: "2021-06-30 23:59:59.000000", note: "b", tz: "America/New_York" },
      ]);
      const after = await client.query("SELECT pg_last_copy_id() AS id, pg_last_copy_count() AS n");
      assert.ok(after.rows[0].id > 0);
      assert.equal(after.rows[0].n, "3");

      // Callback style, and COPY FROM STDIN passes through untouched.
      const viaCallback = await new Promise<pg.QueryResult>((resolve, reject) =>
        client.query(copyStatement("t", "two.manifest"), (error: Error, result: pg.QueryResult) =>
          error ? reject(error) : resolve(result),
        ),
      );
      assert.equal(viaCallback.rowCount, 3);
      const stdin = client.query(copyFrom("COPY t (id, at, note) FROM STDIN WITH (FORMAT csv)"));
      await pipeline(Readable.from(["9,2020-01-01 00:00:00,stdin\n"]), stdin);
      assert.equal(stdin.rowCount, 1);
    });
  });

  it("COPY fails when no file is found, when a mandatory one is missing, and on options it cannot honour; the COPY id stays", async () => {
    await manifest("empty.manifest", []);
    await manifest("mandatory.manifest", [
      { url: `s3://${BUCKET}/${folder}a.csv`, mandatory: true },
      { url: `s3://${BUCKET}/${folder}gone.csv`, mandatory: true },
    ]);
    await manifest("none-found.manifest", [{ url: `s3://${BUCKET}/${folder}gone.csv` }]);
    await withClient(world.tenant("SI").olapUser, async (client) => {
      await createTable(client);
      await assert.rejects(
        client.query(copyStatement("t", "empty.manifest")),
        /no files to load: .* no entries/,
      );
      await assert.rejects(
        client.query(copyStatement("t", "none-found.manifest")),
        /no files to load: none of the manifest's entries exist/,
      );
      await assert.rejects(client.query(copyStatement("t", "mandatory.manifest")), /gone\.csv' is mandatory/);
      await assert.rejects(
        client.query(copyStatement("t", "no-such.manifest")),
        /Problem reading manifest file/,
      );
      await assert.rejects(
        client.query(copyStatement("t", "empty.manifest", "MAXERROR 10")),
        /not supported/,
      );
      const { rows } = await client.query("SELECT pg_last_copy_id() AS id, (SELECT count(*) FROM t) AS n");
      assert.deepEqual(rows, [{ id: -1, n: "0" }]);
    });
  });

  it("a refused row fails the COPY with Redshift's message and is logged where the session's user can read it", async () => {
    await manifest("bad.manifest", [
      { url: `s3://${BUCKET}/${folder}b.csv`, mandatory: true },
      { url: `s3://${BUCKET}/${folder}bad.csv`, mandatory: true },
    ]);
    await withClient(world.tenant("SI").olapUser, async (client) => {
      await createTable(client);
      await assert.rejects(
        client.query(copyStatement("t", "bad.manifest")),
        (error: pg.DatabaseError) =>
          error.code === "XX000" &&
          error.message === "Load into table 't' failed.  Check 'stl_load_errors' system table for details.",
      );
      assert.equal((await client.query("SELECT count(*) AS n FROM t")).rows[0].n, "0");
      const { rows } = await client.query(
        "SELECT trim(filename) AS file, line_number, trim(colname) AS col, err_code, trim(err_reason) AS reason, trim(raw_field_value) AS value, trim(raw_line) AS line, query = pg_last_copy_id() AS this_copy, pg_last_copy_count() AS n FROM stl_load_errors",
      );
      assert.deepEqual(rows, [
        {
          file: `s3://${BUCKET}/${folder}bad.csv`,
          line_number: "2",
          col: "at",
          err_code: 1206,
          reason: "Invalid timestamp format or value [YYYY-MM-DD HH24:MI:SS]",
          value: "soon",
          line: "5,soon,bad",
          this_copy: true,
          n: "0",
        },
      ]);
      const detail = await client.query(
        "SELECT trim(file_name) AS file, line_number, trim(column_name) AS col, error_code FROM sys_load_error_detail WHERE query_id = pg_last_copy_id()",
      );
      assert.deepEqual(detail.rows, [
        { file: `s3://${BUCKET}/${folder}bad.csv`, line_number: "2", col: "at", error_code: 1206 },
      ]);
    });
    // Another regular user sees none of it; the superuser sees all.
    await world.withPg(async (client) => {
      await client.query(`CREATE ROLE ${quotePg(`${world.tag}_other`)} LOGIN`);
      assert.equal((await client.query("SELECT count(*) AS n FROM stl_load_errors")).rows[0].n, "1");
    });
    try {
      await withClient(`${world.tag}_other`, async (client) => {
        assert.equal((await client.query("SELECT count(*) AS n FROM stl_load_errors")).rows[0].n, "0");
      });
    } finally {
      await world.withPg((client) => client.query(`DROP ROLE ${quotePg(`${world.tag}_other`)}`));
    }
  });

  it("VACUUM DELETE ONLY runs as PostgreSQL's VACUUM", async () => {
    const table = `${quotePg(world.tenant("SI").schema)}.exam_alt_score`;
    await world.withPg(async (client) => {
      await client.query(`VACUUM DELETE ONLY ${table}`);
      await client.query(`VACUUM DELETE ONLY ${table} TO 75 PERCENT`);
    });
  });
});
