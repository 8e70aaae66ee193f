import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { resolveConfig } from "../src/config/settings.js";
import { buildPlan, runPlan, silentProgress, type ProgressSink } from "../src/index.js";
import type { JournalData } from "../src/run/journal.js";
import { quotePg } from "../src/dialects/postgres.js";
import type { RunReport } from "../src/report/summary.js";
import { asLines, expectedAltScores } from "./helpers/oracle.js";
import { killChildren, startPaused } from "./helpers/paused.js";
import { sampleDataset, World } from "./helpers/world.js";

const SINCE = "2019-11-01 00:00:00";
const REPLICAS = 3;

describe("operating safely: quiesce, journal, resume, rollback, locks, retries", () => {
  let world: World;
  let initial: string[];
  let expected: string[];
  let live: string;

  const replicas = async () => (await world.kubectl()).replicas;
  const latestRun = async () => (await readdir(world.journalDir)).sort().at(-1)!;
  const liveCount = () =>
    world.withPg(async (client) =>
      Number((await client.query(`SELECT count(*) AS n FROM ${live}`)).rows[0].n),
    );

  before(async () => {
    world = await World.create({
      staging: "s3",
      tenants: [
        { id: "OP", pathPrefix: "op", dataset: sampleDataset(500, 71) },
        { id: "OQ", pathPrefix: "oq", dataset: sampleDataset(60, 72) },
      ],
    });
    live = `${quotePg(world.tenant("OP").schema)}.exam_alt_score`;
    initial = await world.altScores("OP");
    expected = asLines(expectedAltScores(world.tenant("OP").dataset, SINCE));
  });
  after(async () => {
    killChildren();
    await world?.destroy();
  });

  it("stops migrate-olap before the back-fill, waits for its pods, and restores its replicas after success", async () => {
    const result = await world.runBackfill(["--json"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await world.altScores("OP"), expected);
    const kubectl = await world.kubectl();
    assert.equal(kubectl.replicas, REPLICAS);
    const scaleCalls = kubectl.calls.filter((call) => call.startsWith("scale"));
    assert.deepEqual(scaleCalls, [
      "scale deployment migrate-olap-deployment --replicas=0",
      `scale deployment migrate-olap-deployment --replicas=${REPLICAS}`,
    ]);
    const podChecks = kubectl.calls.filter((call) => call.startsWith("get pods -l app=migrate-olap"));
    assert.equal(podChecks.length, 2, "polled the pods until none were left");
    const report = JSON.parse(result.stdout) as RunReport;
    assert.equal(report.migrate?.replicas, REPLICAS);
  });

  it("rollback restores the exact previous contents from the run's backup (nothing written since)", async () => {
    const run = await latestRun();
    const result = await world.runCli(["rollback", run, "--yes", "--journal-dir", world.journalDir], {});
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /DELETE FROM "reporting_op"\.exam_alt_score USING rdw_backfill_restore r/);
    assert.deepEqual(await world.altScores("OP"), initial);
  });

  it("after kill -9 during the extract, resume finishes with the uninterrupted result and restores migrate-olap", async () => {
    const paused = await startPaused(world, world.runArgs("run", "--new-run"), "extract");
    paused.child.kill("SIGKILL");
    await paused.exited;
    assert.equal(await replicas(), 0, "migrate-olap is still stopped after the kill");
    const journal = JSON.parse(
      (await world.runCli(["status", "--json", "--journal-dir", world.journalDir])).stdout,
    ) as JournalData;
    assert.equal(journal.migrate?.replicas, REPLICAS);
    assert.equal(journal.tenants.OP!.state, "backed-up");
    const resumed = await world.runCli(world.runArgs("resume", journal.runId));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(await world.altScores("OP"), expected);
    assert.equal(await replicas(), REPLICAS);
  });

  it("after kill -9 during the load, the same run command again resumes it", async () => {
    await world.runCli(["rollback", await latestRun(), "--yes", "--journal-dir", world.journalDir]);
    const paused = await startPaused(world, world.runArgs("run", "--new-run"), "load");
    const killed = await latestRun();
    paused.child.kill("SIGKILL");
    await paused.exited;
    assert.deepEqual(await world.altScores("OP"), initial);
    const again = await world.runCli(world.runArgs("run"));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`Resuming run ${killed}`));
    assert.deepEqual(await world.altScores("OP"), expected);
    assert.equal(await replicas(), REPLICAS);
  });

  it("during the replace a reader sees the old table; after kill -9 there, nothing changed and resume completes", async () => {
    await world.runCli(["rollback", await latestRun(), "--yes", "--journal-dir", world.journalDir]);
    const before = await liveCount();
    const paused = await startPaused(world, world.runArgs("run", "--new-run"), "merge");
    assert.equal(
      await liveCount(),
      before,
      "rows deleted inside the open transaction are still visible to readers",
    );
    const run = await latestRun();
    paused.child.kill("SIGKILL");
    await paused.exited;
    assert.deepEqual(await world.altScores("OP"), initial);
    const restored = await world.runCli(["restore-migrate", "--journal-dir", world.journalDir]);
    assert.match(restored.stdout, new RegExp(`Run ${run}: migrate-olap restored to ${REPLICAS} replicas`));
    assert.equal(await replicas(), REPLICAS);
    const resumed = await world.runCli(world.runArgs("resume", run));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(await world.altScores("OP"), expected);
    assert.equal(await replicas(), REPLICAS);
  });

  for (const [signal, point, code] of [
    ["SIGINT", "load", 130],
    ["SIGTERM", "merge", 143],
  ] as const) {
    it(`restores migrate-olap on ${signal} and leaves the table unchanged`, async () => {
      const before = await world.altScores("OP");
      const paused = await startPaused(world, world.runArgs("run", "--new-run"), point);
      assert.equal(await replicas(), 0);
      paused.child.kill(signal);
      const exit = await paused.exited;
      assert.equal(exit.code, code, exit.stderr);
      assert.match(exit.stderr, new RegExp(`migrate-olap restored to ${REPLICAS} replicas`));
      assert.equal(await replicas(), REPLICAS);
      assert.deepEqual(await world.altScores("OP"), before);
      const status = await world.runCli(["status", "--journal-dir", world.journalDir]);
      assert.match(status.stdout, /: interrupted/);
    });
  }

  it("on SIGHUP (the SSH session dropped, its terminal gone) restores migrate-olap like SIGTERM, exit 129", async () => {
    const before = await world.altScores("OP");
    const paused = await startPaused(world, world.runArgs("run", "--new-run"), "merge");
    const run = await latestRun();
    assert.equal(await replicas(), 0);
    // A hung-up terminal: whatever the process writes now fails (EPIPE here, EIO on a tty).
    paused.child.stdout!.destroy();
    paused.child.stderr!.destroy();
    paused.child.kill("SIGHUP");
    const exit = await paused.exited;
    assert.equal(exit.code, 129, `signal ${exit.signal}`);
    assert.equal(await replicas(), REPLICAS);
    assert.deepEqual(await world.altScores("OP"), before);
    const journal = JSON.parse(
      (await world.runCli(["status", run, "--json", "--journal-dir", world.journalDir])).stdout,
    ) as JournalData;
    assert.equal(journal.status, "interrupted");
    assert.ok(journal.migrate?.restoredAt, "the journal records migrate-olap restored");
    const resumed = await world.runCli(world.runArgs("resume", run));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(await world.altScores("OP"), expected);
    assert.equal(await replicas(), REPLICAS);
  });

  it("restores migrate-olap after a tenant fails", async () => {
    const schema = quotePg(world.tenant("OP").schema);
    await world.withPg(async (client) => {
      await client.query(
        `CREATE FUNCTION ${schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`,
      );
      await client.query(
        `CREATE TRIGGER refuse BEFORE INSERT ON ${live} FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse()`,
      );
    });
    try {
      const result = await world.runBackfill();
      assert.equal(result.code, 1);
      assert.match(result.stdout, /OP: failed: .*refused/);
      assert.equal(await replicas(), REPLICAS);
    } finally {
      await world.withPg((client) => client.query(`DROP TRIGGER refuse ON ${live}`));
    }
  });

  it("refuses a second run on a tenant that another run holds, and takes over the lock of a dead run", async () => {
    const first = await startPaused(world, world.runArgs("run", "--new-run"), "load");
    const holder = await latestRun();
    const second = await world.runBackfill();
    assert.equal(second.code, 1);
    assert.match(
      second.stdout,
      new RegExp(`OP: failed: tenant OP is locked by run ${holder} \\(host .*, pid ${first.child.pid}`),
    );
    first.child.kill("SIGKILL");
    await first.exited;
    const third = await world.runBackfill();
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stderr, new RegExp(`taking over the lock of run ${holder} .*: that process is gone`));
    assert.match(
      third.stderr,
      new RegExp(`run ${holder} left migrate-olap stopped; this run will restore its ${REPLICAS} replicas`),
    );
    assert.deepEqual(await world.altScores("OP"), expected);
    assert.equal(await replicas(), REPLICAS);
  });

  it("retries a tenant after a dropped connection and reports the retry", async () => {
    Object.assign(process.env, world.s3!.env); // the library reads the S3 settings from the environment
    const config = resolveConfig({ configDir: world.configDir, env: world.cliEnv() });
    const plan = await buildPlan(config, { backup: false, partBytes: 1 << 20 });
    let dropped = false;
    const dropConnection: ProgressSink = {
      ...silentProgress,
      step(tenant, step, expectedRows) {
        if (step === "load" && !dropped) {
          dropped = true;
          const { host, port, user } = world.servers.pg;
          execFileSync("psql", [
            "-h",
            host,
            "-p",
            String(port),
            "-U",
            user,
            "-d",
            world.pgDatabase,
            "-Atc",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'rdw-backfill'",
          ]);
        }
        return silentProgress.step(tenant, step, expectedRows);
      },
    };
    const report = await runPlan(plan, {
      progress: dropConnection,
      failFast: false,
      journalDir: world.journalDir,
      retryDelayMs: 10,
    });
    assert.equal(report.ok, true, report.tenants[0]!.error);
    assert.equal(report.tenants[0]!.retries?.length, 1);
    assert.match(report.tenants[0]!.retries![0]!.error, /connection error|terminating connection/);
    assert.deepEqual(await world.altScores("OP"), expected);
  });

  it("after kill -9 in the second tenant, resume does not redo the first", async () => {
    const paused = await startPaused(world, world.runArgs("run", "--new-run"), "load#2");
    const run = await latestRun();
    paused.child.kill("SIGKILL");
    await paused.exited;
    const status = async () =>
      JSON.parse(
        (await world.runCli(["status", run, "--json", "--journal-dir", world.journalDir])).stdout,
      ) as JournalData;
    const killed = await status();
    assert.equal(killed.tenants.OP!.state, "verified");
    assert.equal(killed.tenants.OQ!.state, "extracted");
    const resumed = await world.runCli(world.runArgs("resume", run));
    assert.equal(resumed.code, 0, resumed.stderr);
    const done = await status();
    assert.equal(done.tenants.OP!.attempts, 1, "the finished tenant was not run again");
    assert.equal(done.tenants.OQ!.attempts, 2);
    assert.deepEqual(await world.altScores("OP"), expected);
    assert.deepEqual(
      await world.altScores("OQ"),
      asLines(expectedAltScores(world.tenant("OQ").dataset, SINCE)),
    );
    assert.equal(await replicas(), REPLICAS);
  });

  it("takes over a lock held on another host only with --take-over-lock", async () => {
    const lock = `${quotePg(world.tenant("OQ").schema)}.rdw_backfill_lock`;
    await world.withPg((client) =>
      client.query(`INSERT INTO ${lock} VALUES ('20200101_000000_dead', 'other-host', 4242, now())`),
    );
    const refused = await world.runBackfill(["--tenant", "OQ"]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stdout,
      /OQ: failed: tenant OQ is locked by run 20200101_000000_dead \(host other-host, pid 4242.*--take-over-lock/,
    );
    const taken = await world.runBackfill(["--tenant", "OQ", "--take-over-lock"]);
    assert.equal(taken.code, 0, taken.stderr);
    assert.match(taken.stderr, /taking over the lock of run 20200101_000000_dead .* \(--take-over-lock\)/);
  });

  it("stops and restarts migrate-olap with custom commands instead of kubectl", async () => {
    const restored = `${world.tmp}/restored-replicas`;
    const result = await world.runBackfill([
      "--tenant",
      "OQ",
      "--quiesce-cmd",
      `echo stopped > ${world.tmp}/stopped; echo 5`,
      "--restore-cmd",
      `echo $RDW_BACKFILL_REPLICAS > ${restored}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await readFile(restored, "utf8")).trim(), "5");
    assert.equal((await readFile(`${world.tmp}/stopped`, "utf8")).trim(), "stopped");
  });

  it("lists runs, and cleanup removes a run's backup table and staged files", async () => {
    const history = await world.runCli(["history", "--journal-dir", world.journalDir]);
    assert.equal(history.code, 0);
    assert.ok((history.stdout.match(/\d{8}_\d{6}_[0-9a-f]{4}/g) ?? []).length >= 8);
    const run = (await readdir(world.journalDir)).sort()[0]!;
    const journal = JSON.parse(
      (await world.runCli(["status", run, "--json", "--journal-dir", world.journalDir])).stdout,
    ) as JournalData;
    const backupTable = journal.tenants.OP!.backupTable!;
    assert.ok(await world.tableExists("OP", backupTable));
    const cleanup = await world.runCli(["cleanup", run, "--yes", "--journal-dir", world.journalDir]);
    assert.equal(cleanup.code, 0, cleanup.stderr);
    assert.equal(await world.tableExists("OP", backupTable), false);
    assert.match(cleanup.stdout, /removed .*staged objects/);
  });
});
