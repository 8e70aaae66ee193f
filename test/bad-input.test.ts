import assert from "node:assert/strict";
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { quoteMysql } from "../src/dialects/mysql.js";
import { quotePg } from "../src/dialects/postgres.js";
import type { JournalData } from "../src/run/journal.js";
import { killChildren, startPaused } from "./helpers/paused.js";
import { springTextEncrypt } from "./helpers/spring-encrypt.js";
import { type CliResult, sampleDataset, World } from "./helpers/world.js";

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

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
    killChildren();
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

  it("an option of run that verify would ignore", async () => {
    for (const option of [["--extract", "aurora"], ["--no-backup"], ["--part-size", "8"]]) {
      const result = await world.runCli(["verify", "--config", world.configDir, ...option]);
      assert.equal(result.code, 2, option.join(" "));
      assert.match(result.stderr, new RegExp(`unknown option '${option[0]}'`));
      assert.equal(result.stdout, "", "nothing verified");
    }
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

  describe("archive paths that leave the archive or can be read two ways", () => {
    const archive = () => fileURLToPath(world.uriRoot);
    const outside = () => `outside_${world.tag}`;
    const cases = () =>
      [
        [
          "a path prefix with .. (with file staging it would write outside the archive)",
          { pathPrefix: `../../${outside()}` },
          /tenant-OT\/application\.yml: archive\.tenants\.OT\.path-prefix "\.\.\/\.\.\/outside_\w+" has a "\.\." segment/,
        ],
        [
          "a path prefix with a leading /",
          { pathPrefix: "/ot" },
          /tenant-OT\/application\.yml: archive\.tenants\.OT\.path-prefix "\/ot" starts with \//,
        ],
        [
          "a path prefix with an empty segment",
          { pathPrefix: "ot//2026" },
          /tenant-OT\/application\.yml: archive\.tenants\.OT\.path-prefix "ot\/\/2026" has an empty segment \(\/\/\)/,
        ],
        [
          "an archive.uri-root with ..",
          { uriRoot: `${world.uriRoot}/../${outside()}` },
          /\/application\.yml: archive\.uri-root "file:.*\/archive\/\.\.\/outside_\w+" has a "\.\." segment/,
        ],
      ] as const;

    it("are refused by plan and run with one line naming the file and property, exit 2", async () => {
      const kubectlCalls = (await world.kubectl()).calls.length;
      for (const [name, change, message] of cases()) {
        const dir = join(world.tmp, `paths-${cases().findIndex(([other]) => other === name)}`);
        await writeConfigCopy(dir, change);
        await expectRefused(await world.runCli(["plan", "--config", dir]), 2, message);
        const runDir = join(world.tmp, "runs-paths");
        await expectRefused(
          await world.runCli(["run", "--config", dir, "--yes", "--new-run", "--journal-dir", runDir]),
          2,
          message,
        );
        assert.equal(await exists(runDir), false, `${name}: no journal`);
      }
      for (const path of [join(archive(), "..", outside()), join(dirname(archive()), "..", outside())])
        assert.equal(await exists(path), false, `nothing written to ${path}`);
      assert.equal((await world.kubectl()).calls.length, kubectlCalls, "migrate-olap untouched");
    });
  });

  describe("a journal that does not parse or has the wrong shape", () => {
    const runId = "20261124_031500_ab12";
    /** A journal as a run writes it; the cases below break one thing in it. */
    const journal = () => ({
      runId,
      createdAt: "2026-11-24T03:15:00.000Z",
      updatedAt: "2026-11-24T03:20:00.000Z",
      status: "failed",
      host: "bastion",
      pid: 4711,
      command: {
        configDir: world.configDir,
        tenants: ["OT"],
        overrides: [],
        since: "2019-11-01 00:00:00",
        backup: true,
        extract: "auto",
        load: "auto",
        partBytes: 268435456,
      },
      stagingCopy: `${world.uriRoot}/MigrateAdHoc/rdw-backfill/${runId}/`,
      migrate: {
        controller: { kind: "kubectl", deployment: "migrate-olap-deployment" },
        replicas: 3,
        quiescedAt: "2026-11-24T03:15:01.000Z",
      },
      tenants: {
        OT: {
          state: "backed-up",
          stagingUri: `${world.uriRoot}/ot/MigrateAdHoc/exam_alt_score/${runId}/`,
          olapSchema: "reporting_ot",
          backupTable: `exam_alt_score_backup_${runId}`,
          results: {},
          attempts: 1,
          retries: [],
          steps: [],
        },
      },
    });
    const broken = (): [string, string, RegExp][] => {
      const wrongFolder = journal() as unknown as JournalData;
      // The archive root itself: cleanup would empty it.
      wrongFolder.tenants.OT!.stagingUri = `${world.uriRoot}/`;
      const wrongType = journal() as unknown as { migrate: { replicas: unknown } };
      wrongType.migrate.replicas = "three";
      return [
        ["truncated", JSON.stringify(journal()).slice(0, 120), /invalid journal \(not JSON: /],
        [
          "wrong-folder",
          JSON.stringify(wrongFolder),
          /invalid journal: tenants\.OT\.stagingUri must be a staging folder of this run \(/,
        ],
        [
          "wrong-type",
          JSON.stringify(wrongType),
          /invalid journal: migrate\.replicas must be a count or null$/,
        ],
      ];
    };
    const commands = (dir: string): string[][] =>
      [
        ["status", runId],
        ["status"],
        ["history"],
        ["resume", runId, "--yes"],
        ["rollback", runId, "--yes"],
        ["cleanup", runId, "--yes"],
        ["restore-migrate", runId],
        ["restore-migrate"],
        ["run", "--config", world.configDir, "--yes", "--report-dir", join(dir, "reports")],
      ].map((args) => [...args, "--journal-dir", dir]);

    it("a journal as a run writes it is read", async () => {
      const dir = join(world.tmp, "journals-valid");
      await mkdir(join(dir, runId), { recursive: true });
      await writeFile(join(dir, runId, "journal.json"), JSON.stringify(journal()));
      const result = await world.runCli(["status", runId, "--journal-dir", dir]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /OT +│ backed-up/);
    });

    it("is refused by every command that reads it: one line naming the file, exit 2, nothing touched", async () => {
      const kubectlCalls = (await world.kubectl()).calls.length;
      const sentinel = join(fileURLToPath(world.uriRoot), "sentinel.txt");
      await mkdir(dirname(sentinel), { recursive: true });
      await writeFile(sentinel, "an archive file cleanup must not delete");
      for (const [name, text, message] of broken()) {
        const dir = join(world.tmp, `journals-${name}`);
        const file = join(dir, runId, "journal.json");
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, text);
        for (const args of commands(dir)) {
          const result = await world.runCli(args);
          await expectRefused(
            result,
            2,
            new RegExp(`^rdw-backfill: error: ${escape(file)}: ${message.source}`),
          );
          assert.equal(await readFile(file, "utf8"), text, `${name}: ${args[0]} left the journal as it was`);
        }
      }
      assert.equal(await exists(sentinel), true, "nothing deleted in the archive");
      assert.equal((await world.kubectl()).calls.length, kubectlCalls, "migrate-olap untouched");
    });

    it("a run id that is not one is refused before any file is read", async () => {
      const result = await world.runCli([
        "rollback",
        "../../etc",
        "--yes",
        "--journal-dir",
        world.journalDir,
      ]);
      await expectRefused(result, 2, /run "\.\.\/\.\.\/etc": not a run id/);
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

  // Last: the killed run leaves its lock table behind, which the checks above compare.
  it("a staged manifest that lists an object outside the run's folder fails the tenant before COPY (resume)", async () => {
    const paused = await startPaused(world, world.runArgs("run", "--new-run"), "merge");
    paused.child.kill("SIGKILL");
    await paused.exited;
    const status = await world.runCli(["status", "--json", "--journal-dir", world.journalDir]);
    const journal = JSON.parse(status.stdout) as JournalData;
    const entry = journal.tenants.OT!;
    assert.equal(entry.state, "extracted", "the extract is recorded; load and merge are redone");
    assert.deepEqual(await world.altScores("OT"), initialTable, "the killed merge changed nothing");
    const folder = fileURLToPath(entry.stagingUri);
    // A copy of the first part outside the folder, and a manifest that lists it: loadable rows,
    // so only the check stops them.
    const intruder = join(folder, "..", "..", "intruder.csv");
    await writeFile(intruder, await readFile(join(folder, "exam_alt_score.part_00000")));
    const manifestFile = join(folder, "exam_alt_score.manifest");
    const manifest = JSON.parse(await readFile(manifestFile, "utf8")) as { entries: { url: string }[] };
    const url = `${entry.stagingUri}../../intruder.csv`;
    manifest.entries.push({ url });
    await writeFile(manifestFile, JSON.stringify(manifest));
    const tables = await olapTables();

    const resumed = await world.runCli(world.runArgs("resume", journal.runId));
    assert.equal(resumed.code, 1, resumed.stderr);
    const failed = resumed.stdout.split("\n").filter((line) => / failed: /.test(line));
    assert.equal(failed.length, 1, resumed.stdout);
    assert.match(failed[0]!, new RegExp(`OT: failed: .*entry ${escape(url)} is outside this run's folder`));
    assert.deepEqual(await world.altScores("OT"), initialTable);
    assert.deepEqual(await olapTables(), tables, "no COPY, no merge");
    assert.equal((await world.kubectl()).replicas, 3, "migrate-olap started again");
    const after = JSON.parse(
      (await world.runCli(["status", journal.runId, "--json", "--journal-dir", world.journalDir])).stdout,
    ) as JournalData;
    assert.equal(after.tenants.OT!.state, "extracted");
    assert.match(after.tenants.OT!.error ?? "", /is outside this run's folder/);
  });

  async function writeConfigCopy(
    dir: string,
    change: { pathPrefix?: string; uriRoot?: string } = {},
  ): Promise<void> {
    const { writeConfigRepository } = await import("../demo/config-writer.js");
    const spec = world.configSpec(true);
    await writeConfigRepository(dir, {
      ...spec,
      ...(change.uriRoot ? { uriRoot: change.uriRoot } : {}),
      tenants: spec.tenants.map((tenant) => ({
        ...tenant,
        ...(change.pathPrefix ? { pathPrefix: change.pathPrefix } : {}),
      })),
    });
  }
});
