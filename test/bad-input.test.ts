import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { quoteMysql } from "../src/dialects/mysql.js";
import { quotePg } from "../src/dialects/postgres.js";
import { springTextEncrypt } from "./helpers/spring-encrypt.js";
import { type CliResult, sampleDataset, World } from "./helpers/world.js";

describe("bad input: one clear line, the right exit code, nothing modified", () => {
  let world: World;
  let initialTable: string[];
  let initialTables: string[];
  const emptyDatabase = () => `${world.tag}_empty`;
  const secretUser = () => `${world.tag}_u`;

  const olapTables = () =>
    world.withPg(async (client) => {
      const { rows } = await client.query<{ name: string }>(
        "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
      );
      return rows.map((row) => row.name);
    });

  /** Asserts the outcome and that neither the table nor the schema changed. */
  async function expectRefused(result: CliResult, code: number, message: RegExp): Promise<void> {
    assert.equal(result.code, code, `exit code; stderr: ${result.stderr}`);
    const errorLines = result.stderr.split("\n").filter((line) => line.startsWith("rdw-backfill: error:"));
    const failedTenant = result.stdout.split("\n").filter((line) => /failed: /.test(line));
    const lines = errorLines.length > 0 ? errorLines : failedTenant;
    assert.equal(lines.length, 1, `one error line expected in:\n${result.stderr}\n${result.stdout}`);
    assert.match(lines[0]!, message);
    assert.deepEqual(await world.altScores("OT"), initialTable);
    assert.deepEqual(await olapTables(), initialTables);
  }

  const run = (...args: string[]) => world.runBackfill(args);

  before(async () => {
    world = await World.create({
      staging: "file",
      tenants: [
        {
          id: "OT",
          pathPrefix: "ot",
          dataset: sampleDataset(30, 41),
        },
      ],
    });
    initialTable = await world.altScores("OT");
    initialTables = await olapTables();
    await world.withMysql(async (connection) => {
      await connection.query(`CREATE DATABASE ${quoteMysql(emptyDatabase())}`);
      await connection.query(`CREATE USER ?@'%' IDENTIFIED BY 'right-password-123'`, [secretUser()]);
      await connection.query(`GRANT SELECT ON *.* TO ?@'%'`, [secretUser()]);
    });
    await world.withPg(async (client) => {
      const broken = quotePg(`${world.tag}_broken`);
      await client.query(`CREATE SCHEMA ${broken}`);
      await client.query(
        `CREATE TABLE ${broken}.exam (id bigint, student_id bigint, asmt_id int, school_year smallint)`,
      );
      await client.query(`CREATE TABLE ${broken}.exam_alt_score (id bigint, exam_id bigint)`);
    });
    initialTables = await olapTables();
  });

  after(async () => {
    await world.withMysql(async (connection) => {
      await connection.query(`DROP DATABASE IF EXISTS ${quoteMysql(emptyDatabase())}`);
      await connection.query(`DROP USER IF EXISTS ?@'%'`, [secretUser()]);
    });
    await world.withPg((client) =>
      client.query(`DROP SCHEMA IF EXISTS ${quotePg(`${world.tag}_broken`)} CASCADE`),
    );
    await world.destroy();
  });

  it("a missing configuration folder", async () => {
    const result = await world.runCli(["run", "--yes", "--config", join(world.tmp, "nowhere")]);
    await expectRefused(result, 2, /nowhere: configuration folder does not exist/);
  });

  it("a configuration folder without application.yml", async () => {
    const dir = join(world.tmp, "no-application");
    await mkdir(join(dir, "tenant-OT"), { recursive: true });
    await expectRefused(
      await world.runCli(["plan", "--config", dir]),
      2,
      /application\.yml: cannot read configuration file/,
    );
  });

  it("an unreadable configuration file", async () => {
    const dir = join(world.tmp, "unreadable");
    await mkdir(join(dir, "application.yml"), { recursive: true });
    await expectRefused(
      await world.runCli(["plan", "--config", dir]),
      2,
      /application\.yml: cannot read configuration file \(EISDIR\)/,
    );
  });

  it("invalid YAML, with file and line", async () => {
    const dir = join(world.tmp, "bad-yaml");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "application.yml"), "archive:\n  uri-root: s3://x\n bad: [\n");
    await expectRefused(
      await world.runCli(["plan", "--config", dir]),
      2,
      /application\.yml:\d+: invalid YAML/,
    );
  });

  it("an unknown tenant", async () => {
    await expectRefused(await run("--tenant", "XX"), 2, /unknown tenant "XX" \(known in .*: OT\)/);
  });

  it("an unresolvable placeholder", async () => {
    await expectRefused(
      await run("--set", "archive.uri-root=${RDW_NOT_SET_ANYWHERE}"),
      2,
      /--set: property archive\.uri-root has unresolvable placeholder \$\{RDW_NOT_SET_ANYWHERE\}/,
    );
  });

  it("an invalid --since", async () => {
    await expectRefused(
      await run("--since", "2019-02-30"),
      2,
      /--since "2019-02-30": not a valid date and time/,
    );
  });

  it("tenant ids and schema names that are not plain identifiers", async () => {
    await expectRefused(
      await run("--set", "backfill.tenants.OT.olap-schema=reporting_ot; drop table x"),
      2,
      /backfill\.tenants\.OT\.olap-schema "reporting_ot; drop table x" is not a plain identifier/,
    );
    const dir = join(world.tmp, "bad-tenant");
    await writeConfigCopy(dir);
    await mkdir(join(dir, "tenant-X"), { recursive: true });
    await writeFile(
      join(dir, "tenant-X", "application.yml"),
      'tenantProperties:\n  tenants:\n    "X;DROP":\n      id: x\n',
    );
    await expectRefused(
      await world.runCli(["plan", "--config", dir]),
      2,
      /tenant id in .*tenant-X.* "X;DROP" is not a plain identifier/,
    );
  });

  it("an unreachable database", async () => {
    await expectRefused(
      await run("--set", "datasources.warehouse_rw.url-server=127.0.0.1:1"),
      1,
      /OT: failed: .*warehouse root@127\.0\.0\.1:1\/.*: unreachable \(ECONNREFUSED\)/,
    );
  });

  it("a wrong password, which is never shown", async () => {
    const result = await run(
      "--set",
      `spring.admin_warehouse_datasource.username=${secretUser()}`,
      "--set",
      "spring.admin_warehouse_datasource.password=wrong-secret-456",
    );
    await expectRefused(result, 1, /access denied \(wrong user or password\)/);
    assert.ok(!(result.stdout + result.stderr).includes("wrong-secret-456"));
  });

  it("a missing table", async () => {
    await expectRefused(
      await run("--set", `datasources.warehouse_rw.tenants.OT.url-parts.database=${emptyDatabase()}`),
      1,
      /warehouse database .*_empty: table subject_score does not exist/,
    );
  });

  it("a missing column", async () => {
    await expectRefused(
      await run("--set", `backfill.tenants.OT.olap-schema=${world.tag}_broken`),
      1,
      /OLAP schema .*_broken: table exam_alt_score lacks column subject_score_id, student_id/,
    );
  });

  it("an unwritable staging location", async () => {
    const file = join(world.tmp, "a-file");
    await writeFile(file, "not a folder");
    await expectRefused(
      await run("--set", `archive.uri-root=file://${file}`),
      1,
      /OT: failed: staging file:.*a-file\/ot\/MigrateAdHoc\/exam_alt_score\/.*\/ is not writable/,
    );
  });

  it("run without --yes and without a terminal", async () => {
    const result = await world.runCli(["run", "--config", world.configDir]);
    await expectRefused(result, 2, /confirm with --yes/);
  });

  it("an unknown option", async () => {
    const result = await world.runCli(["run", "--config", world.configDir, "--yes", "--frobnicate"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown option '--frobnicate'/);
  });

  describe("a {cipher} password", () => {
    const key = "config-server-key-4711";
    let dir: string;
    const where =
      /encrypted\/rdw-reporting-admin-service\.yml: spring\.admin_warehouse_datasource\.password is encrypted \(\{cipher\}\) and cannot be decrypted/;

    before(async () => {
      // The admin warehouse login, its password encrypted as the config server would.
      dir = join(world.tmp, "encrypted");
      await writeConfigCopy(dir);
      const admin = join(dir, "rdw-reporting-admin-service.yml");
      const yaml = parse(await readFile(admin, "utf8")) as {
        spring: { admin_warehouse_datasource: { username: string; password: string } };
      };
      yaml.spring.admin_warehouse_datasource.username = secretUser();
      yaml.spring.admin_warehouse_datasource.password = `{cipher}${springTextEncrypt(key, "right-password-123")}`;
      await writeFile(admin, stringify(yaml));
    });

    /** `run` on the encrypted copy of the configuration. */
    const runEncrypted = (env: NodeJS.ProcessEnv) =>
      world.runCli(
        world.runArgs("run").map((arg) => (arg === world.configDir ? dir : arg)),
        env,
      );
    const leaks = (result: CliResult) =>
      [key, "right-password-123"].filter((secret) => (result.stdout + result.stderr).includes(secret));

    it("with the wrong key", async () => {
      const result = await runEncrypted({ ENCRYPT_KEY: "wrong-key" });
      await expectRefused(
        result,
        2,
        new RegExp(
          `${where.source} with the key from environment variable ENCRYPT_KEY: wrong key or corrupt value$`,
        ),
      );
      assert.deepEqual(leaks(result), []);
    });

    it("without a key", async () => {
      const result = await runEncrypted({ ENCRYPT_KEY: "" });
      await expectRefused(result, 2, new RegExp(`${where.source}: no key: set ENCRYPT_KEY`));
    });

    it("is decrypted with ENCRYPT_KEY or --encrypt-key-file, and shown nowhere", async () => {
      const keyFile = join(world.tmp, "encrypt.key");
      await writeFile(keyFile, `${key}\n`);
      for (const [args, env] of [
        [[], { ENCRYPT_KEY: key }],
        [["--encrypt-key-file", keyFile], { ENCRYPT_KEY: "" }],
      ] as const) {
        const result = await world.runCli(["plan", "--config", dir, "--no-quiesce", ...args], env);
        assert.equal(result.code, 0, result.stderr + result.stdout);
        assert.match(result.stdout, new RegExp(`${secretUser()}:\\*{8}@`));
        assert.deepEqual(leaks(result), []);
      }
      assert.deepEqual(await world.altScores("OT"), initialTable);
      assert.deepEqual(await olapTables(), initialTables);
    });
  });

  it("plan masks passwords and modifies nothing", async () => {
    const result = await world.runCli([
      "plan",
      "--config",
      world.configDir,
      "--set",
      "spring.admin_olap_datasource.password=olap-secret-789",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stdout.includes("olap-secret-789"));
    assert.match(result.stdout, /postgres:\*{8}@/);
    assert.match(
      result.stdout,
      /DELETE FROM "reporting_ot"\.exam_alt_score USING "reporting_ot"\."rdw_backfill_rows_\w+" b/,
    );
    assert.deepEqual(await world.altScores("OT"), initialTable);
    assert.deepEqual(await olapTables(), initialTables);
  });

  async function writeConfigCopy(dir: string): Promise<void> {
    const { writeConfigRepository } = await import("../demo/config-writer.js");
    await writeConfigRepository(dir, world.configSpec(true));
  }
});
