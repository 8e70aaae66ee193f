import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { resolveConfig } from "../src/config/settings.js";
import { buildPlan, runPlan, silentProgress, type ProgressSink } from "../src/index.js";
import { type JournalData, RunJournal } from "../src/run/journal.js";
import { quotePg } from "../src/dialects/postgres.js";
import type { RunReport } from "../src/report/summary.js";
import { asLines, expectedAltScores } from "./helpers/oracle.js";
import { killChildren, startPaused } from "./helpers/paused.js";
import { type KubectlState, sampleDataset, World } from "./helpers/world.js";

const SINCE = "2019-11-01 00:00:00";
const REPLICAS = 3;

/** The replica counts the kubectl patches set, in order (patches that only change the lease left out). */
function replicaPatches(calls: string[]): number[] {
  return calls
    .filter((call) => call.startsWith("patch deployment"))
    .map(
      (call) =>
        (JSON.parse(call.slice(call.indexOf("{"))) as { spec?: { replicas?: number } }).spec?.replicas,
    )
    .filter((replicas): replicas is number => replicas !== undefined);
}

/** The run ids in migrate-olap's lease (the Deployment's annotation). */
function leaseHolders(annotations: Record<string, string> | undefined): string[] {
  const holders = annotations?.["rdw-backfill/holders"];
  return holders ? (JSON.parse(holders) as { run: string }[]).map((holder) => holder.run).sort() : [];
}

describe("operating safely: quiesce, journal, resume, rollback, locks, retries", () => {
  let world: World;
  let initial: string[];
  let expected: string[];
  let live: string;

  const replicas = async () => (await world.kubectl()).replicas;
  /**
   * The runs in the journal folder, the latest last: by creation time, since two runs started
   * in the same second have ids that sort by their random suffix.
   */
  const runsByCreation = async () =>
    (await RunJournal.list(world.journalDir))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map((run) => run.runId);
  const latestRun = async () => (await runsByCreation()).at(-1)!;
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
    assert.deepEqual(replicaPatches(kubectl.calls), [0, REPLICAS]);
    assert.deepEqual(kubectl.annotations, {}, "the lease is removed with the restore");
    const podChecks = kubectl.calls.filter((call) => call.startsWith("get pods -l app=migrate-olap"));
    assert.equal(
      podChecks.length,
      2 + 2,
      "polled the pods until none were left, and once before each of the two tenants' replace",
    );
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
    // The backup the killed attempt took is the one rollback restores.
    const rolledBack = await world.runCli(["rollback", run, "--yes", "--journal-dir", world.journalDir]);
    assert.equal(rolledBack.code, 0, rolledBack.stderr);
    assert.deepEqual(await world.altScores("OP"), initial);
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
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'rdw-backfill'",
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

  it("a second run on the same tenant is refused at once, touching nothing; migrate-olap stays stopped for the first", async () => {
    const go = join(world.tmp, "continue-same-tenant");
    const first = await startPaused(
      world,
      [...world.runArgs("run", "--new-run"), "--tenant", "OP"],
      "load",
      go,
    );
    const holder = await latestRun();
    const before = await world.kubectl();
    assert.equal(before.replicas, 0);
    assert.deepEqual(leaseHolders(before.annotations), [holder]);
    const lockRows = () =>
      world.withPg(
        async (client) =>
          (
            await client.query<{ run_id: string }>(
              `SELECT run_id FROM ${quotePg(world.tenant("OP").schema)}.rdw_backfill_lock`,
            )
          ).rows,
      );
    assert.deepEqual(await lockRows(), [{ run_id: holder }]);

    const started = Date.now();
    const second = await world.runBackfill(["--tenant", "OP"]);
    assert.equal(second.code, 1, second.stderr);
    assert.ok(Date.now() - started < 20_000, "refused at once, without waiting for the first run");
    assert.match(
      second.stdout,
      new RegExp(
        `OP: failed: tenant OP is locked by run ${holder} \\(host ${hostname()}, pid ${first.child.pid}, since .*--take-over-lock`,
      ),
    );
    const refusedRun = await latestRun();
    const journal = JSON.parse(
      (await world.runCli(["status", refusedRun, "--json", "--journal-dir", world.journalDir])).stdout,
    ) as JournalData;
    assert.equal(journal.tenants.OP!.attempts, 0, "no attempt: nothing of the tenant was touched");
    assert.equal(journal.migrate, undefined, "migrate-olap was not touched");
    const after = await world.kubectl();
    assert.deepEqual(after.calls.slice(before.calls.length), [], "the second run made no kubectl call");
    assert.equal(after.replicas, 0, "still stopped for the first run");
    assert.deepEqual(leaseHolders(after.annotations), [holder]);
    assert.deepEqual(await lockRows(), [{ run_id: holder }]);

    // The same command without --new-run (it resumes the latest unfinished run of these tenants): refused as well.
    const again = await world.runCli([...world.runArgs("run"), "--tenant", "OP"]);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stdout + again.stderr, new RegExp(`run ${holder} .*pid ${first.child.pid}`));
    assert.deepEqual((await world.kubectl()).calls.slice(before.calls.length), []);

    await writeFile(go, "");
    const exit = await first.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(await world.altScores("OP"), expected);
    const done = await world.kubectl();
    assert.equal(done.replicas, REPLICAS);
    assert.deepEqual(done.annotations, {});
  });

  it("two runs on different tenants share migrate-olap's stop: stopped until the last ends, then restored once", async () => {
    const goOP = join(world.tmp, "continue-op");
    const goOQ = join(world.tmp, "continue-oq");
    const calls = (await world.kubectl()).calls.length;
    const [op, oq] = await Promise.all([
      startPaused(world, [...world.runArgs("run", "--new-run"), "--tenant", "OP"], "load", goOP),
      startPaused(world, [...world.runArgs("run", "--new-run"), "--tenant", "OQ"], "load", goOQ),
    ]);
    const runs = (await runsByCreation()).slice(-2).sort();
    const both = await world.kubectl();
    assert.equal(both.replicas, 0);
    assert.deepEqual(leaseHolders(both.annotations), runs, "both runs hold the lease");
    assert.equal(
      both.annotations?.["rdw-backfill/original-replicas"],
      String(REPLICAS),
      "the first run's count",
    );

    // The run that joined first ends first: migrate-olap stays stopped for the other.
    await writeFile(goOP, "");
    const opExit = await op.exited;
    assert.equal(opExit.code, 0, opExit.stderr);
    assert.match(
      opExit.stderr,
      /migrate-olap stays stopped: run \d{8}_\d{6}_[0-9a-f]{4} .* still holds its lease/,
    );
    const between = await world.kubectl();
    assert.equal(between.replicas, 0, "still stopped: the OQ run works");
    assert.equal(leaseHolders(between.annotations).length, 1);

    await writeFile(goOQ, "");
    const oqExit = await oq.exited;
    assert.equal(oqExit.code, 0, oqExit.stderr);
    assert.match(oqExit.stderr, new RegExp(`migrate-olap restored to ${REPLICAS} replicas`));
    const done = await world.kubectl();
    assert.equal(done.replicas, REPLICAS);
    assert.deepEqual(done.annotations, {}, "the lease is gone");
    const patches = replicaPatches(done.calls.slice(calls));
    assert.deepEqual(
      patches.filter((replicas) => replicas > 0),
      [REPLICAS],
      "restored to the original count exactly once",
    );
    assert.deepEqual(await world.altScores("OP"), expected);
    assert.deepEqual(
      await world.altScores("OQ"),
      asLines(expectedAltScores(world.tenant("OQ").dataset, SINCE)),
    );
  });

  /** Runs OP in this process with the stand-in kubectl; `onStep` sees each step start and every warning. */
  async function runInProcess(options: {
    migrateWaitMs: number;
    onStep: (step: string) => void;
    onWarning: (message: string) => void;
  }): Promise<RunReport> {
    const saved = { ...process.env };
    Object.assign(process.env, world.cliEnv());
    try {
      const config = resolveConfig({ configDir: world.configDir, tenants: ["OP"], env: process.env });
      const plan = await buildPlan(config, {
        backup: false,
        partBytes: 1 << 20,
        migrate: { kind: "kubectl", deployment: "migrate-olap-deployment" },
        migrateWaitMs: options.migrateWaitMs,
      });
      const actions = plan.tenants[0]!.actions.map((action) => action.step);
      assert.equal(
        actions[actions.indexOf("merge") - 1],
        "check-migrate",
        "the plan checks before the replace",
      );
      return await runPlan(plan, {
        progress: {
          ...silentProgress,
          step(tenant, step, expectedRows) {
            options.onStep(step);
            return silentProgress.step(tenant, step, expectedRows);
          },
        },
        failFast: false,
        journalDir: world.journalDir,
        attempts: 1,
        warn: options.onWarning,
      });
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  }

  /** Puts tenant OP back as it was before the first run of this file. */
  const rollBackFirstRunOfOP = async () => {
    const first = (await readdir(world.journalDir)).sort()[0]!;
    await world.runCli(["rollback", first, "--yes", "--tenant", "OP", "--journal-dir", world.journalDir]);
    assert.deepEqual(await world.altScores("OP"), initial);
  };

  const startedBySomeoneElse = (state: KubectlState) => {
    state.replicas = REPLICAS;
    state.pods = REPLICAS;
    state.terminating = false;
  };

  it("migrate-olap started by someone else mid-run: the tenant fails before the replace, which never began", async () => {
    await rollBackFirstRunOfOP();
    const warnings: string[] = [];
    let flipped: Promise<void> | undefined;
    const report = await runInProcess({
      migrateWaitMs: 3000,
      onStep: (step) => void (step === "extract" && (flipped ??= world.changeKubectl(startedBySomeoneElse))),
      onWarning: (message) => void warnings.push(message),
    });
    await flipped;
    const tenant = report.tenants[0]!;
    assert.equal(tenant.status, "failed");
    assert.match(
      tenant.error ?? "",
      /migrate-olap \(kubectl deployment migrate-olap-deployment\) is running again: 3 replicas, 3 pods .*waited 3 s: the replace of exam_alt_score was not begun and the table is unchanged/,
    );
    assert.ok(
      warnings.some((warning) =>
        /waiting up to 3 s for it to be stopped again before the replace/.test(warning),
      ),
      warnings.join("\n"),
    );
    assert.deepEqual(await world.altScores("OP"), initial, "nothing replaced");
    const journal = await RunJournal.load(world.journalDir, report.runId);
    assert.equal(
      journal.tenant("OP").state,
      "extracted",
      "the last durable step is the extract: a resume loads and replaces",
    );
    assert.equal(journal.tenant("OP").results.merge, undefined);
    assert.equal((await world.kubectl()).replicas, REPLICAS);
  });

  it("migrate-olap started by someone else and stopped again: the replace waits for it, then goes on", async () => {
    const warnings: string[] = [];
    let flipped: Promise<void> | undefined;
    let stoppedAgain: Promise<void> | undefined;
    const report = await runInProcess({
      migrateWaitMs: 60_000,
      onStep: (step) => void (step === "extract" && (flipped ??= world.changeKubectl(startedBySomeoneElse))),
      onWarning: (message) => {
        warnings.push(message);
        if (/waiting up to 60 s/.test(message)) {
          stoppedAgain ??= new Promise((resolve) => setTimeout(resolve, 1500)).then(() =>
            world.changeKubectl((state) => {
              state.replicas = 0;
              state.pods = 0;
            }),
          );
        }
      },
    });
    await flipped;
    await stoppedAgain;
    assert.equal(report.tenants[0]!.status, "succeeded", report.tenants[0]!.error);
    assert.ok(stoppedAgain, "the run waited");
    assert.ok(
      warnings.some((warning) => /migrate-olap is stopped again; the replace goes on/.test(warning)),
      warnings.join("\n"),
    );
    assert.deepEqual(await world.altScores("OP"), expected);
    assert.equal((await world.kubectl()).replicas, REPLICAS);
  });

  it("a reader polling exam_alt_score during a whole run only ever sees the old table or the new one", async () => {
    await rollBackFirstRunOfOP();
    const snapshot = `SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS sum FROM ${live} t`;
    const read = (client: { query: (sql: string) => Promise<{ rows: { n: string; sum: string }[] }> }) =>
      client.query(snapshot).then(({ rows }) => `${rows[0]!.n}:${rows[0]!.sum}`);
    const states = await world.withPg(async (client) => {
      const seen: string[] = [await read(client)];
      let done = false;
      const run = world.runBackfill(["--tenant", "OP"]).finally(() => (done = true));
      while (!done) seen.push(await read(client));
      const result = await run;
      assert.equal(result.code, 0, result.stderr);
      seen.push(await read(client));
      return seen;
    });
    const first = states[0]!;
    const last = states.at(-1)!;
    assert.notEqual(first, last, "the run changed the table");
    assert.ok(states.length >= 20, `polled ${states.length} times`);
    const others = states.filter((state) => state !== first && state !== last);
    assert.deepEqual(others, [], "never an empty, partial or intermediate table");
    assert.ok(
      states.filter((state) => state === first).length >= 2,
      "the old table was seen while the run worked",
    );
    assert.deepEqual(await world.altScores("OP"), expected);
  });

  it("restore-migrate drops a dead holder of this host at once, and one on another host only with --take-over-lock", async () => {
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    await world.changeKubectl((state) => {
      state.replicas = 0;
      state.pods = 0;
      state.annotations = {
        "rdw-backfill/original-replicas": String(REPLICAS),
        "rdw-backfill/holders": JSON.stringify([
          { run: "20200101_000000_dead", host: hostname(), pid: dead, since: "2020-01-01T00:00:00.000Z" },
          { run: "20200101_000000_afar", host: "other-host", pid: 4242, since: "2020-01-01T00:00:00.000Z" },
        ]),
      };
    });
    const swept = await world.runCli(["restore-migrate", "--journal-dir", world.journalDir]);
    assert.equal(swept.code, 0, swept.stderr);
    assert.match(
      swept.stdout,
      /run 20200101_000000_dead \(host .*\): dropped from migrate-olap's lease \(that process is gone\)/,
    );
    assert.match(
      swept.stdout,
      /migrate-olap stays stopped: run 20200101_000000_afar \(host other-host, pid 4242.*\) still holds its lease/,
    );
    assert.match(
      swept.stdout,
      /a run on another host that is dead: rdw-backfill restore-migrate --take-over-lock/,
    );
    const kept = await world.kubectl();
    assert.equal(kept.replicas, 0);
    assert.deepEqual(leaseHolders(kept.annotations), ["20200101_000000_afar"]);

    const taken = await world.runCli([
      "restore-migrate",
      "--take-over-lock",
      "--journal-dir",
      world.journalDir,
    ]);
    assert.equal(taken.code, 0, taken.stderr);
    assert.match(
      taken.stdout,
      /run 20200101_000000_afar .*: dropped from migrate-olap's lease \(--take-over-lock\)/,
    );
    assert.match(taken.stdout, new RegExp(`migrate-olap restored to ${REPLICAS} replicas`));
    const done = await world.kubectl();
    assert.equal(done.replicas, REPLICAS);
    assert.deepEqual(done.annotations, {});
    const nothing = await world.runCli(["restore-migrate", "--journal-dir", world.journalDir]);
    assert.match(nothing.stdout, /^Nothing to restore/);
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
