import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { writeConfigRepository } from "../demo/config-writer.js";
import { createTenantRole, type LocalServers } from "../demo/local-servers.js";
import type { LocalS3 } from "../demo/s3-server.js";
import { quotePg } from "../src/dialects/postgres.js";
import type { RunReport } from "../src/report/summary.js";
import type { BenchDataset } from "./dataset.js";
import { measurePipeline, type Measurement } from "./measure.js";

export interface ContenderResult extends Measurement {
  name: string;
  /** Eligible source rows the contender moved. */
  rows: number;
  detail: string;
}

export interface BenchContext {
  servers: LocalServers;
  olapDatabase: string;
  /** An open client on `olapDatabase` for set-up and counts. */
  olap: pg.Client;
  dataset: BenchDataset;
  since: string;
  /** The eligible rows of `dataset`, once a contender counted them (verify reports none of its own). */
  eligibleRows: number;
}

/**
 * The runbook's extract (MySQL side), with the one filter that makes its rows loadable into
 * the NOT NULL `exam_alt_score` (without it the raw COPY fails on the first NULL alt scale
 * score) and without its ORDER BY, which only costs a sort: the strongest fair baseline.
 */
export function runbookExtract(since: string): string {
  return [
    "SELECT wes.id, wes.exam_id, wes.subject_score_id, we.student_id, we.asmt_id, we.school_year, wes.scale_score,",
    "       wes.performance_level, we.completed_at, -1 AS migrate_id, we.updated, we.update_import_id",
    "FROM exam we JOIN exam_score wes ON we.id = wes.exam_id",
    "WHERE we.deleted = 0",
    `  AND we.updated >= '${since}'`,
    "  AND we.scale_score IS NOT NULL",
    "  AND we.performance_level IS NOT NULL",
    "  AND wes.performance_level IS NOT NULL",
    "  AND wes.scale_score IS NOT NULL",
    "  AND wes.subject_score_id IN (SELECT id FROM subject_score WHERE asmt_type_id IN (1, 3) AND score_type_id = 2)",
  ].join("\n");
}

const RAW_SCHEMA = "raw_pipe";

/** 1. `mariadb --quick --batch` piped into `psql … COPY FROM STDIN`: copies only. */
export async function rawPipe(context: BenchContext): Promise<ContenderResult> {
  const { servers, olap, dataset } = context;
  const target = `${quotePg(RAW_SCHEMA)}.exam_alt_score`;
  await olap.query(`DROP SCHEMA IF EXISTS ${quotePg(RAW_SCHEMA)} CASCADE`);
  await olap.query(`CREATE SCHEMA ${quotePg(RAW_SCHEMA)}`);
  await olap.query(`CREATE TABLE ${target} (LIKE ${quotePg(dataset.olapSchema)}.exam_alt_score)`);
  await checkpoint(olap);
  const measured = await measurePipeline([
    {
      file: "mariadb",
      args: [
        "--quick",
        "--batch",
        "--skip-column-names",
        `--host=${servers.mysql.host}`,
        `--port=${servers.mysql.port}`,
        `--user=${servers.mysql.user}`,
        // TIMESTAMPs come out in the session zone: UTC, as COPY reads them (runbook defect 6).
        "--init-command=SET time_zone = '+00:00'",
        `--execute=${runbookExtract(context.since)}`,
        dataset.warehouseDatabase,
      ],
      env: { ...process.env, MYSQL_PWD: servers.mysql.password },
    },
    {
      file: "psql",
      args: [
        "--no-psqlrc",
        "--set=ON_ERROR_STOP=1",
        `--host=${servers.pg.host}`,
        `--port=${servers.pg.port}`,
        `--username=${servers.pg.user}`,
        `--dbname=${context.olapDatabase}`,
        `--command=COPY ${target} FROM STDIN`,
      ],
      env: { ...process.env, PGPASSWORD: servers.pg.password, PGTZ: "UTC" },
    },
  ]);
  const copied = /COPY (\d+)/.exec(measured.stdout);
  if (!copied) throw new Error(`raw pipe: psql did not report a COPY count: ${measured.stdout}`);
  await olap.query(`DROP SCHEMA ${quotePg(RAW_SCHEMA)} CASCADE`);
  return { ...measured, name: "raw pipe (mariadb | psql COPY)", rows: Number(copied[1]), detail: "" };
}

const PGLOADER_SCHEMA = "pgloader";

/** 2. pgloader, from a materialized view of the same extract. */
export async function pgloader(context: BenchContext): Promise<ContenderResult> {
  const { servers, olap, dataset } = context;
  await olap.query(`DROP SCHEMA IF EXISTS ${quotePg(PGLOADER_SCHEMA)} CASCADE`);
  const dir = await mkdtemp(join(tmpdir(), "rdw-bench-pgloader-"));
  try {
    const commands = join(dir, "extract.load");
    const mysqlUrl = `mysql://${login(servers.mysql)}@${servers.mysql.host}:${servers.mysql.port}/${dataset.warehouseDatabase}`;
    const pgUrl = `postgresql://${login(servers.pg)}@${servers.pg.host}:${servers.pg.port}/${context.olapDatabase}`;
    await writeFile(
      commands,
      [
        "LOAD DATABASE",
        `  FROM ${mysqlUrl}`,
        `  INTO ${pgUrl}`,
        "WITH include drop, create tables, create no indexes, no foreign keys, reset no sequences",
        // pgloader sends the value without its quotes; MariaDB reads double quotes as a string.
        `SET MySQL PARAMETERS time_zone = '"+00:00"'`,
        "SET PostgreSQL PARAMETERS timezone = 'UTC'",
        // MariaDB's default current_timestamp(6) is not something PostgreSQL can parse.
        "CAST type timestamp to timestamptz drop default",
        `MATERIALIZE VIEWS alt_score_extract AS $$ ${runbookExtract(context.since)} $$`,
        "INCLUDING ONLY TABLE NAMES MATCHING 'alt_score_extract'",
        `ALTER SCHEMA '${dataset.warehouseDatabase}' RENAME TO '${PGLOADER_SCHEMA}';`,
      ].join("\n"),
    );
    await checkpoint(olap);
    const measured = await measurePipeline([
      {
        file: "pgloader",
        args: ["--on-error-stop", "--no-ssl-cert-verification", commands],
        env: { ...process.env, TMPDIR: dir },
      },
    ]);
    // pgloader exits 0 after some fatal errors: its log says.
    const failure = /^\S+ (FATAL|ERROR) .*$/m.exec(measured.stdout);
    if (failure) throw new Error(`pgloader: ${failure[0]}`);
    const counted = await olap.query<{ rows: string }>(
      `SELECT count(*) AS rows FROM ${quotePg(PGLOADER_SCHEMA)}.alt_score_extract`,
    );
    await olap.query(`DROP SCHEMA ${quotePg(PGLOADER_SCHEMA)} CASCADE`);
    return {
      ...measured,
      name: "pgloader (materialized view)",
      rows: Number(counted.rows[0]!.rows),
      detail: "",
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const login = (server: { user: string; password: string }) =>
  encodeURIComponent(server.user) + (server.password ? `:${encodeURIComponent(server.password)}` : "");

const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

/** How rdw-backfill is run: `run` with extra options, or `verify` alone. */
export interface RdwRun {
  command: "run" | "verify";
  extraArgs: string[];
}

/**
 * 3. rdw-backfill, streaming through S3-compatible staging, on the deployment's tenants (one
 * per dataset) as the generator left them: `run` (backup, replace, count and checksum checks
 * before COMMIT, and verify unless `--no-verify`), or `verify` alone after a run.
 */
export async function rdwBackfill(
  context: BenchContext,
  s3: LocalS3,
  bucket: string,
  datasets: readonly BenchDataset[],
  how: RdwRun,
): Promise<ContenderResult & { report?: RunReport }> {
  const { servers, olap } = context;
  if (how.command === "run") for (const dataset of datasets) await resetAltScores(olap, dataset.olapSchema);
  // One tenant per dataset; the roles one after another, on the one client.
  const tenants = [];
  for (const [index, dataset] of datasets.entries()) {
    tenants.push({
      id: `BENCH${index + 1}`,
      name: `Benchmark tenant ${index + 1}`,
      sandbox: false,
      warehouseDatabase: dataset.warehouseDatabase,
      olapUser: await tenantRole(olap, dataset.olapSchema),
    });
  }
  const dir = await mkdtemp(join(tmpdir(), "rdw-bench-run-"));
  try {
    const configDir = join(dir, "config");
    await writeConfigRepository(configDir, {
      uriRoot: `s3://${bucket}`,
      warehouse: servers.mysql,
      olap: { ...servers.pg, database: context.olapDatabase },
      tenants,
      redshiftRole: "arn:aws:iam::123456789012:role/rdw-bench",
      adminLogins: true,
    });
    const reportDir = join(dir, "report");
    await checkpoint(olap);
    const common = ["--config", configDir, "--since", context.since];
    const args =
      how.command === "verify"
        ? ["verify", ...common, "--json", ...how.extraArgs]
        : [
            "run",
            ...common,
            "--yes",
            "--no-quiesce",
            "--new-run",
            "--extract",
            "stream",
            "--journal-dir",
            join(dir, "runs"),
            "--report-dir",
            reportDir,
            ...how.extraArgs,
          ];
    const measured = await measurePipeline([
      {
        file: process.execPath,
        args: [
          // RDW_BENCH_PROFILE=<dir> writes a CPU profile of the run (open it in Chrome's DevTools).
          ...(process.env.RDW_BENCH_PROFILE
            ? ["--cpu-prof", `--cpu-prof-dir=${process.env.RDW_BENCH_PROFILE}`]
            : []),
          CLI,
          ...args,
        ],
        env: { ...process.env, ...s3.env },
      },
    ]);
    const name = `rdw-backfill ${how.command}${how.extraArgs.length > 0 ? ` ${how.extraArgs.join(" ")}` : ""}`;
    if (how.command === "verify") {
      const results = JSON.parse(measured.stdout) as { ok: boolean; checks: { expected?: string }[] }[];
      const failed = results.filter((result) => !result.ok);
      if (failed.length > 0) throw new Error(`${name}: ${failed.length} tenants failed verification`);
      // The rows verify compared: what the extract staged, on the same data.
      return { ...measured, name, rows: context.eligibleRows, detail: "" };
    }
    const report = JSON.parse(await readFile(join(reportDir, "summary.json"), "utf8")) as RunReport;
    const failed = report.tenants.filter(
      (tenant) => tenant.status !== "succeeded" || tenant.checks.some((check) => !check.ok),
    );
    if (!report.ok || failed.length > 0) {
      throw new Error(
        `${name}: the run did not succeed: ${failed.map((t) => t.error ?? t.tenant).join("; ")}`,
      );
    }
    for (const dataset of datasets) await dropRunLeftovers(olap, dataset.olapSchema);
    const steps = new Map<string, number>();
    for (const tenant of report.tenants)
      for (const step of tenant.steps) steps.set(step.step, (steps.get(step.step) ?? 0) + step.durationMs);
    return {
      ...measured,
      name,
      rows: report.tenants.reduce((sum, tenant) => sum + tenant.staged, 0),
      detail: [...steps].map(([step, ms]) => `${step} ${(ms / 1000).toFixed(1)} s`).join(", "),
      report,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The tenant's OLAP login, whose search_path is its schema (as in RDW). */
async function tenantRole(olap: pg.Client, olapSchema: string): Promise<string> {
  const role = `rdw_${olapSchema}`;
  const existing = await olap.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
  if (existing.rowCount === 0) await createTenantRole(olap, role, olapSchema);
  return role;
}

/**
 * Every contender starts right after a checkpoint, so that none pays for the write-ahead log
 * of the set-up before it (its flush, and the full-page images that follow a checkpoint).
 */
async function checkpoint(olap: pg.Client): Promise<void> {
  await olap.query("CHECKPOINT");
}

/** Puts `exam_alt_score` back as the generator left it, so every run starts from the same table. */
async function resetAltScores(olap: pg.Client, olapSchema: string): Promise<void> {
  const schema = quotePg(olapSchema);
  await dropRunLeftovers(olap, olapSchema);
  await olap.query(`TRUNCATE ${schema}.exam_alt_score`);
  await olap.query(`INSERT INTO ${schema}.exam_alt_score SELECT * FROM ${schema}.exam_alt_score_initial`);
  await olap.query(`VACUUM ANALYZE ${schema}.exam_alt_score`);
}

/** The backups and rollback keys a run leaves (`cleanup` would drop them), so that none piles up. */
async function dropRunLeftovers(olap: pg.Client, olapSchema: string): Promise<void> {
  const backups = await olap.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 " +
      "AND (table_name LIKE 'exam\\_alt\\_score\\_backup\\_%' OR table_name LIKE 'rdw\\_backfill\\_keys\\_%')",
    [olapSchema],
  );
  for (const { name } of backups.rows) await olap.query(`DROP TABLE ${quotePg(olapSchema)}.${quotePg(name)}`);
}
