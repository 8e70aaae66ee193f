import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type mysql from "mysql2/promise";
import type pg from "pg";
import {
  type ConfigRepositorySpec,
  type ConfigTenant,
  writeConfigRepository,
} from "../../demo/config-writer.js";
import type { Dataset } from "../../demo/dataset.js";
import { DEFAULT_GENERATE_OPTIONS, generateDataset } from "../../demo/generate.js";
import { installOlap, installWarehouse } from "../../demo/install.js";
import {
  createTenantRole,
  dropPgDatabase,
  dropTenantRole,
  localServers,
  openMysql,
  openPg,
  recreatePgDatabase,
} from "../../demo/local-servers.js";
import { type LocalS3, startLocalS3 } from "../../demo/s3-server.js";
import { quoteMysql } from "../../src/dialects/mysql.js";
import { quotePg } from "../../src/dialects/postgres.js";
import {
  createRedshiftStandInObjects,
  type RedshiftVariant,
  redshiftStandInEnv,
} from "./redshift-stand-ins.js";

/** A generated tenant of the given size; the same seed gives the same data. */
export const sampleDataset = (students: number, seed: number): Dataset =>
  generateDataset({ ...DEFAULT_GENERATE_OPTIONS, students, seed });

export const CLI = new URL("../../src/cli/main.js", import.meta.url).pathname;
export const BUCKET = "rdw-test-archive";
const FAKE_KUBECTL = new URL("../../../test/fixtures/kubectl.mjs", import.meta.url).pathname;

export interface KubectlState {
  deployment: string;
  replicas: number;
  pods: number;
  terminating: boolean;
  calls: string[];
  /** The Deployment's annotations (the lease) and resourceVersion; the stand-in adds them. */
  annotations?: Record<string, string>;
  resourceVersion?: number;
}

export interface TenantSpec {
  id: string;
  pathPrefix?: string;
  sandbox?: boolean;
  /** OLAP schema; default `reporting_<id>`. The tenant role's search_path names it. */
  schema?: string;
  dataset: Dataset;
}

export interface WorldTenant extends ConfigTenant {
  schema: string;
  dataset: Dataset;
}

export interface WorldOptions {
  tenants: TenantSpec[];
  staging: "s3" | "file";
  /** Sets the OLAP database's default TimeZone, as a server in another zone would. */
  olapTimeZone?: string;
  adminLogins?: boolean;
  /**
   * The OLAP server: PostgreSQL as it is (default), or PostgreSQL with the Redshift stand-ins of
   * `redshift-stand-ins.ts` (SQL objects in the database; command-line children get the preload).
   */
  olap?: "postgres" | "redshift-stand-in";
  /** With `olap: "redshift-stand-in"`: the default variant of command-line children; default provisioned. */
  redshiftVariant?: RedshiftVariant;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Real servers for one test file: a PostgreSQL database, a warehouse database per tenant in
 * MariaDB, tenant OLAP roles, a staging area (an S3-compatible server or a folder) and an RDW
 * configuration folder pointing at all of it. Everything is dropped by `destroy()`.
 */
export class World {
  readonly servers = localServers();
  readonly tag = `rdwbf_${randomBytes(3).toString("hex")}`;
  readonly pgDatabase = this.tag;
  tenants: WorldTenant[] = [];
  configDir = "";
  tmp = "";
  s3: LocalS3 | undefined;
  uriRoot = "";

  /** The stand-in kubectl's state: migrate-olap's replicas, pods and the calls made. */
  kubectlState = "";
  journalDir = "";
  /** Environment that turns the Redshift stand-ins on in command-line children (empty on PostgreSQL). */
  olapEnv: Record<string, string> = {};
  private binDir = "";

  static async create(options: WorldOptions): Promise<World> {
    const world = new World();
    await world.setUp(options);
    return world;
  }

  private async setUp(options: WorldOptions): Promise<void> {
    this.tmp = await mkdtemp(join(tmpdir(), "rdw-backfill-test-"));
    this.journalDir = join(this.tmp, "runs");
    this.binDir = join(this.tmp, "bin");
    await mkdir(this.binDir);
    await copyFile(FAKE_KUBECTL, join(this.binDir, "kubectl"));
    await chmod(join(this.binDir, "kubectl"), 0o755);
    this.kubectlState = join(this.tmp, "kubectl-state.json");
    await this.setKubectl({
      deployment: "migrate-olap-deployment",
      replicas: 3,
      pods: 3,
      terminating: false,
      calls: [],
    });
    if (options.staging === "s3") {
      this.s3 = await startLocalS3([BUCKET]);
      this.uriRoot = `s3://${BUCKET}`;
    } else {
      this.uriRoot = pathToFileURL(join(this.tmp, "archive")).href;
    }
    await recreatePgDatabase(this.servers.pg, this.pgDatabase);
    if (options.olapTimeZone) {
      await this.withPg((client) =>
        client.query(`ALTER DATABASE ${quotePg(this.pgDatabase)} SET TimeZone = '${options.olapTimeZone}'`),
      );
    }
    this.tenants = options.tenants.map((spec) => ({
      id: spec.id,
      name: `Tenant ${spec.id}`,
      sandbox: spec.sandbox ?? false,
      ...(spec.pathPrefix ? { pathPrefix: spec.pathPrefix } : {}),
      warehouseDatabase: `${this.tag}_wh_${spec.id.toLowerCase()}`,
      olapUser: `${this.tag}_${spec.id.toLowerCase()}`,
      schema: spec.schema ?? `reporting_${spec.id.toLowerCase()}`,
      dataset: spec.dataset,
    }));
    await this.withMysql(async (connection) => {
      for (const tenant of this.tenants)
        await installWarehouse(connection, tenant.warehouseDatabase, tenant.dataset);
    });
    await this.withPg(async (client) => {
      for (const tenant of this.tenants) {
        await installOlap(client, tenant.schema, tenant.dataset);
        await createTenantRole(client, tenant.olapUser, tenant.schema);
      }
      if (options.olap === "redshift-stand-in") {
        const roles = this.tenants.map((tenant) => tenant.olapUser);
        await createRedshiftStandInObjects(client, { database: this.pgDatabase, roles });
        this.olapEnv = redshiftStandInEnv(options.redshiftVariant ?? "provisioned");
      }
    });
    this.configDir = join(this.tmp, "config");
    await writeConfigRepository(this.configDir, this.configSpec(options.adminLogins ?? true));
  }

  async setKubectl(state: KubectlState): Promise<void> {
    await writeFile(this.kubectlState, JSON.stringify(state));
  }

  async kubectl(): Promise<KubectlState> {
    return JSON.parse(await readFile(this.kubectlState, "utf8")) as KubectlState;
  }

  /**
   * Changes the stand-in's deployment as someone else would (an autoscaler, a GitOps sync),
   * under the lock the stand-in takes, so that no concurrent kubectl call loses the change.
   */
  async changeKubectl(change: (state: KubectlState) => void): Promise<void> {
    const lock = `${this.kubectlState}.lock`;
    for (;;) {
      try {
        await mkdir(lock);
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    try {
      const state = await this.kubectl();
      change(state);
      state.resourceVersion = (state.resourceVersion ?? 1) + 1;
      await this.setKubectl(state);
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }

  /**
   * Environment for the command line: the S3 server, the stand-in kubectl first on PATH and, on
   * a Redshift stand-in, its preload and variant.
   */
  cliEnv(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      ...this.s3?.env,
      ...this.olapEnv,
      PATH: `${this.binDir}:${process.env.PATH}`,
      FAKE_KUBECTL_STATE: this.kubectlState,
      ...env,
    };
  }

  configSpec(adminLogins: boolean): ConfigRepositorySpec {
    return {
      uriRoot: this.uriRoot,
      warehouse: this.servers.mysql,
      olap: { ...this.servers.pg, database: this.pgDatabase },
      tenants: this.tenants,
      redshiftRole: "arn:aws:iam::123456789012:role/rdw-test",
      adminLogins,
    };
  }

  tenant(id: string): WorldTenant {
    const tenant = this.tenants.find((t) => t.id === id);
    if (!tenant) throw new Error(`no tenant ${id}`);
    return tenant;
  }

  /** Runs the built command line with this world's S3 settings. */
  runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        { env: this.cliEnv(env), maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /** A new `run --yes` on this world's configuration; journal and reports in the temporary folder. */
  runBackfill(extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return this.runCli([...this.runArgs("run"), "--new-run", ...extra], env);
  }

  /** Arguments of a command that runs the back-fill (`run` or `resume RUN`) on this world. */
  runArgs(...command: string[]): string[] {
    const reports = join(this.tmp, "reports", randomBytes(3).toString("hex"));
    const config = command[0] === "run" ? ["--config", this.configDir] : [];
    return [...command, ...config, "--yes", "--journal-dir", this.journalDir, "--report-dir", reports];
  }

  async withPg<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = await openPg(this.servers.pg, this.pgDatabase);
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  /** A root connection to the warehouse server that the caller ends (e.g. to hold a lock). */
  openMysql(): Promise<mysql.Connection> {
    return openMysql(this.servers.mysql);
  }

  async withMysql<T>(work: (connection: mysql.Connection) => Promise<T>): Promise<T> {
    const connection = await openMysql(this.servers.mysql);
    try {
      await connection.query("SET time_zone = '+00:00'");
      return await work(connection);
    } finally {
      await connection.end();
    }
  }

  /** The tenant's `exam_alt_score`, each row as UTC text, sorted. */
  altScores(id: string, table = "exam_alt_score"): Promise<string[]> {
    return this.withPg(async (client) => {
      const { rows } = await client.query<{ line: string }>(
        `SELECT concat_ws('|', id, exam_id, subject_score_id, student_id, asmt_id, school_year, scale_score,
           performance_level, to_char(completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), migrate_id,
           to_char(updated AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), update_import_id) AS line
         FROM ${quotePg(this.tenant(id).schema)}.${quotePg(table)}`,
      );
      return rows.map((row) => row.line).sort();
    });
  }

  async tableExists(id: string, table: string): Promise<boolean> {
    return this.withPg(async (client) => {
      const { rows } = await client.query(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2",
        [this.tenant(id).schema, table],
      );
      return rows.length > 0;
    });
  }

  async destroy(): Promise<void> {
    await this.withPg(async (client) => {
      for (const tenant of this.tenants) {
        await client.query(`DROP SCHEMA IF EXISTS ${quotePg(tenant.schema)} CASCADE`);
        await dropTenantRole(client, tenant.olapUser);
      }
    }).catch(() => undefined);
    await dropPgDatabase(this.servers.pg, this.pgDatabase);
    await this.withMysql(async (connection) => {
      for (const tenant of this.tenants)
        await connection.query(`DROP DATABASE IF EXISTS ${quoteMysql(tenant.warehouseDatabase)}`);
    });
    await this.s3?.stop();
    await rm(this.tmp, { recursive: true, force: true });
  }
}
