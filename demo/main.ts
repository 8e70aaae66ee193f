import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { quoteMysql } from "../src/dialects/mysql.js";
import { type ConfigTenant, writeConfigRepository } from "./config-writer.js";
import { DEFAULT_GENERATE_OPTIONS, generateDataset } from "./generate.js";
import { installOlap, installWarehouse } from "./install.js";
import { createTenantRole, localServers, openMysql, openPg, recreatePgDatabase } from "./local-servers.js";
import { startLocalS3 } from "./s3-server.js";

const DEMO_DIR = resolve(".demo");
const OLAP_DATABASE = "rdw_demo";
const BUCKET = "rdw-demo-archive";
const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

const TENANTS: (ConfigTenant & { schema: string; students: number; seed: number })[] = [
  {
    id: "CA",
    name: "Demo State",
    sandbox: false,
    pathPrefix: "ca",
    warehouseDatabase: "demo_warehouse_ca",
    olapUser: "demo_ca",
    schema: "reporting_ca",
    students: 3000,
    seed: 1,
  },
  {
    id: "CA_S001",
    name: "Demo State Sandbox 1",
    sandbox: true,
    warehouseDatabase: "demo_warehouse_ca_s001",
    olapUser: "demo_ca_s001",
    schema: "reporting_ca_s001",
    students: 600,
    seed: 2,
  },
];

/**
 * `npm run demo`: generates two tenants into the local MariaDB and PostgreSQL, writes a
 * matching RDW configuration folder, and runs the back-fill through a local S3-compatible server.
 */
async function main(): Promise<number> {
  const servers = localServers();
  const say = (line: string) => process.stderr.write(`demo: ${line}\n`);
  say(
    `generating ${TENANTS.length} tenants into MariaDB ${servers.mysql.host}:${servers.mysql.port} and PostgreSQL ${servers.pg.host}:${servers.pg.port}/${OLAP_DATABASE}`,
  );
  await recreatePgDatabase(servers.pg, OLAP_DATABASE);
  const mysql = await openMysql(servers.mysql);
  const olap = await openPg(servers.pg, OLAP_DATABASE);
  try {
    for (const tenant of TENANTS) {
      const data = generateDataset({
        ...DEFAULT_GENERATE_OPTIONS,
        students: tenant.students,
        seed: tenant.seed,
      });
      await mysql.query(`DROP DATABASE IF EXISTS ${quoteMysql(tenant.warehouseDatabase)}`);
      await installWarehouse(mysql, tenant.warehouseDatabase, data);
      await installOlap(olap, tenant.schema, data);
      await createTenantRole(olap, tenant.olapUser, tenant.schema);
      say(
        `tenant ${tenant.id}: ${data.exams.length} exams, ${data.examScores.length} exam scores, ` +
          `${data.olapExamIds.length} OLAP exams, ${data.existingAltRows.length} exam_alt_score rows already there`,
      );
    }
  } finally {
    await mysql.end();
    await olap.end();
  }

  const s3 = await startLocalS3([BUCKET]);
  try {
    const configDir = join(DEMO_DIR, "config");
    await rm(configDir, { recursive: true, force: true });
    await writeConfigRepository(configDir, {
      uriRoot: `s3://${BUCKET}`,
      warehouse: servers.mysql,
      olap: { ...servers.pg, database: OLAP_DATABASE },
      tenants: TENANTS,
      redshiftRole: "arn:aws:iam::123456789012:role/rdw-demo-redshift",
      adminLogins: true,
    });
    say(`configuration written to ${configDir}; S3-compatible server at ${s3.endpoint}`);
    // No Kubernetes here: --no-quiesce leaves the (absent) migrate-olap deployment alone.
    const args = [
      CLI,
      "run",
      "--config",
      configDir,
      "--yes",
      "--no-quiesce",
      "--new-run",
      "--journal-dir",
      join(DEMO_DIR, "runs"),
      "--report-dir",
      join(DEMO_DIR, "report"),
    ];
    say(`running: rdw-backfill ${args.slice(1).join(" ")}`);
    return await new Promise<number>((done) => {
      const child = spawn(process.execPath, args, { stdio: "inherit", env: { ...process.env, ...s3.env } });
      child.on("exit", (code) => done(code ?? 1));
    });
  } finally {
    await s3.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
