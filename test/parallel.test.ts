import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { insertAltRows } from "../demo/install.js";
import { resolveConfig } from "../src/config/settings.js";
import { quotePg } from "../src/dialects/postgres.js";
import { buildPlan, runPlan, silentProgress } from "../src/index.js";
import { type JournalData, RunJournal } from "../src/run/journal.js";
import { asLines, expectedAltScores } from "./helpers/oracle.js";
import { killChildren, startPaused } from "./helpers/paused.js";
import { sampleDataset, World } from "./helpers/world.js";

const SINCE = "2019-11-01 00:00:00";
const REPLICAS = 3;
const IDS = ["PA", "PB", "PC", "PD"] as const;
/** Students per tenant: the configuration's order is not the order of size. */
const STUDENTS: Record<(typeof IDS)[number], number> = { PA: 130, PB: 160, PC: 85, PD: 105 };
/** With more than one tenant at once, the largest start first. */
const LARGEST_FIRST = ["PB", "PA", "PD", "PC"];

/** A tenant's start and end as the log lines of a run without a terminal say them, in order. */
interface TenantEvent {
  tenant: string;
  event: "started" | "done" | "FAILED";
}

const tenantEvents = (stderr: string): TenantEvent[] =>
  [...stderr.matchAll(/^\S+ (P[A-D]): (started|done|FAILED)\b/gm)].map((match) => ({
    tenant: match[1]!,
    event: match[2] as TenantEvent["event"],
  }));

/** The most tenants the log shows between their start and their end at once. */
function mostAtOnce(events: readonly TenantEvent[]): number {
  let running = 0;
  let most = 0;
  for (const { event } of events) {
    running += event === "started" ? 1 : -1;
    most = Math.max(most, running);
  }
  return most;
}

/** `run --parallel <n>`: tenants worked on at once, each with its own lock, journal entry and retries. */
describe("tenants at once (--parallel)", () => {
  let world: World;
  const initial = new Map<string, string[]>();
  const expected = new Map<string, string[]>();

  const journalOf = async (runId: string): Promise<JournalData> =>
    (await RunJournal.load(world.journalDir, runId)).data;
  const latestRun = async () =>
    (await RunJournal.list(world.journalDir)).sort((a, b) => a.createdAt.localeCompare(b.createdAt)).at(-1)!
      .runId;
  const assertExact = async (ids: readonly string[]) => {
    for (const id of ids) assert.deepEqual(await world.altScores(id), expected.get(id), `tenant ${id}`);
  };
  const lockTable = (id: string) => `${quotePg(world.tenant(id).schema)}.rdw_backfill_lock`;

  /** Tenant `id`'s lock cannot be taken: it fails at once, at its lock step (not a transient failure). */
  async function refuseLock(id: string): Promise<() => Promise<void>> {
    const schema = quotePg(world.tenant(id).schema);
    await world.withPg(async (client) => {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${lockTable(id)} (run_id VARCHAR(64) NOT NULL, host VARCHAR(255) NOT NULL, ` +
          "pid INTEGER NOT NULL, acquired_at TIMESTAMPTZ NOT NULL)",
      );
      await client.query(
        `CREATE FUNCTION ${schema}.refuse_lock() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${id} refused by the test'; END $$`,
      );
      await client.query(
        `CREATE TRIGGER refuse_lock BEFORE INSERT ON ${lockTable(id)} FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse_lock()`,
      );
    });
    return () =>
      world.withPg(async (client) => {
        await client.query(`DROP TRIGGER refuse_lock ON ${lockTable(id)}`);
        await client.query(`DROP FUNCTION ${schema}.refuse_lock()`);
      });
  }

  before(async () => {
    world = await World.create({
      staging: "file",
      tenants: IDS.map((id, k) => ({
        id,
        pathPrefix: id.toLowerCase(),
        dataset: sampleDataset(STUDENTS[id], 81 + k),
      })),
    });
    for (const id of IDS) {
      initial.set(id, await world.altScores(id));
      expected.set(id, asLines(expectedAltScores(world.tenant(id).dataset, SINCE)));
      assert.notDeepEqual(initial.get(id), expected.get(id), `tenant ${id} has rows to back-fill`);
    }
    const bySize = [...IDS].sort((a, b) => expected.get(b)!.length - expected.get(a)!.length);
    assert.deepEqual(bySize, LARGEST_FIRST, "the sample tenants' sizes");
  });
  after(async () => {
    killChildren();
    await world?.destroy();
  });

  // Every test starts from the tables as the generator left them.
  beforeEach(async () => {
    await world.withPg(async (client) => {
      for (const tenant of world.tenants) {
        await client.query(`DELETE FROM ${quotePg(tenant.schema)}.exam_alt_score`);
        await insertAltRows(client, tenant.schema, tenant.dataset.existingAltRows);
      }
    });
    for (const id of IDS) assert.deepEqual(await world.altScores(id), initial.get(id));
  });

  it("plan shows how many tenants it would run at once; --parallel that is not a whole number ≥ 1 is refused in one line, exit 2", async () => {
    const plan = (...extra: string[]) =>
      world.runCli(["plan", "--config", world.configDir, "--journal-dir", world.journalDir, ...extra]);
    const byDefault = await plan();
    assert.equal(byDefault.code, 0, byDefault.stderr);
    assert.match(
      byDefault.stdout,
      /^ {2}parallel: +one tenant at a time \(tenant PA streams through this process \(extract stream, load postgres\)/m,
    );
    const given = await plan("--parallel", "3");
    assert.match(
      given.stdout,
      /^ {2}parallel: +3 tenants at once \(--parallel 3; as tenant PA streams through this process, extract, load, verify run for one tenant at a time; each OLAP session runs a statement in one process where its engine has a choice\)$/m,
    );
    assert.match(
      given.stdout,
      new RegExp(
        `^ {2}start order: ${LARGEST_FIRST.join(", ")} \\(the largest first, by the estimate of alt score rows\\)$`,
        "m",
      ),
    );
    assert.doesNotMatch(byDefault.stdout, /start order/, "one at a time: the configuration's order");
    // What the plan says is what the sessions run: without parallel workers only when tenants share the cores.
    const noWorkers = /^ {2}OLAP (session|reader): .*SET max_parallel_workers_per_gather = 0/gm;
    assert.equal(byDefault.stdout.match(noWorkers), null);
    assert.equal(given.stdout.match(noWorkers)?.length, 2 * IDS.length);
    // Sessions that already run in one process are not asked again (merge's second session, verify's key check).
    const occurrences = (text: string) => text.split("SET max_parallel_workers_per_gather = 0").length - 1;
    assert.equal(occurrences(given.stdout), 2 * IDS.length);
    assert.equal(occurrences(byDefault.stdout), 2 * IDS.length);
    for (const value of ["0", "two", "1.5", "-2"]) {
      const result = await world.runBackfill(["--parallel", value]);
      assert.equal(result.code, 2, `${value}: ${result.stderr}`);
      assert.equal(
        result.stderr.trim(),
        `rdw-backfill: error: --parallel ${value}: expected a whole number ≥ 1`,
      );
    }
  });

  it("plan looks at the tenants at once: a warehouse that does not answer holds up every tenant's look together, and the plan keeps the configuration's order", async () => {
    // A warehouse address that takes connections and says nothing: the test closes them once all
    // four tenants are connected at once, or when none has come for 3 s (one after another).
    const open = new Set<Socket>();
    let most = 0;
    let quiet: NodeJS.Timeout | undefined;
    const closeAll = () => {
      for (const socket of open) socket.destroy();
    };
    const silent = createServer((socket) => {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      most = Math.max(most, open.size);
      clearTimeout(quiet);
      if (open.size === IDS.length) closeAll();
      else quiet = setTimeout(closeAll, 3000);
    });
    await new Promise<void>((listening) => silent.listen(0, "127.0.0.1", listening));
    const { port } = silent.address() as AddressInfo;
    try {
      const result = await world.runCli([
        "plan",
        ...["--config", world.configDir, "--journal-dir", world.journalDir],
        ...["--set", `datasources.warehouse_rw.url-server=127.0.0.1:${port}`],
      ]);
      assert.equal(most, IDS.length, "warehouse connections open at once");
      const failedInOrder = [...result.stdout.matchAll(/^Tenant (P[A-D]): PREFLIGHT FAILED: .*warehouse/gm)];
      assert.deepEqual(
        failedInOrder.map((match) => match[1]),
        [...IDS],
        result.stdout,
      );
    } finally {
      clearTimeout(quiet);
      closeAll();
      silent.close();
    }
  });

  it("--parallel 4 on four tenants: each exact, migrate-olap stopped once and started once, the tenants overlapped", async () => {
    const migrateLog = join(world.tmp, "migrate-olap.log");
    const result = await world.runBackfill([
      "--parallel",
      "4",
      "--quiesce-cmd",
      `echo stop >> ${migrateLog}; echo ${REPLICAS}`,
      "--restore-cmd",
      `echo start $RDW_BACKFILL_REPLICAS >> ${migrateLog}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    await assertExact(IDS);
    assert.deepEqual((await readFile(migrateLog, "utf8")).trim().split("\n"), ["stop", `start ${REPLICAS}`]);
    const journal = await journalOf(await latestRun());
    for (const id of IDS) {
      assert.equal(journal.tenants[id]!.state, "verified", id);
      assert.equal(journal.tenants[id]!.attempts, 1, id);
    }
    // Every tenant had started and reached its extract before the first was done.
    const events = tenantEvents(result.stderr);
    const firstDone = events.findIndex((event) => event.event === "done");
    assert.deepEqual(
      events.slice(0, firstDone).map((event) => event.event),
      Array(4).fill("started"),
    );
    // The tenants stream through this process: their extracts took turns, one after another,
    // and the second tenant's extract ran while the first tenant went on (its merge, its verify).
    const extracts = [...result.stderr.matchAll(/^\S+ (P[A-D]) extract: (started|done)\b/gm)].map(
      (match) => `${match[1]} ${match[2]}`,
    );
    assert.equal(extracts.length, 8, result.stderr);
    for (let k = 0; k < extracts.length; k += 2) {
      const [tenant] = extracts[k]!.split(" ");
      assert.deepEqual(
        extracts.slice(k, k + 2),
        [`${tenant} started`, `${tenant} done`],
        "one extract at a time",
      );
    }
    assert.match(result.stderr, /^\S+ P[A-D]: waits for its turn: extract runs for one tenant at a time$/m);
    // Their merges run in one process each and take no turns.
    assert.doesNotMatch(result.stderr, /waits for its turn: merge/);
    const firstDoneLine = result.stderr.search(/^\S+ P[A-D]: done$/m);
    const secondExtract = extracts[2]!.split(" ")[0]!;
    const secondStarted = result.stderr.search(new RegExp(`^\\S+ ${secondExtract} extract: started`, "m"));
    assert.ok(secondStarted < firstDoneLine, "the second extract started before the first tenant was done");
  });

  it("--parallel 2 without --fail-fast: a tenant that fails does not stop the others, and no more than two run at once", async () => {
    const allowLock = await refuseLock("PB");
    try {
      const result = await world.runBackfill(["--parallel", "2"]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stdout, /PB: failed: .*PB refused by the test/);
      const journal = await journalOf(await latestRun());
      assert.match(journal.tenants.PB!.error ?? "", /PB refused by the test/);
      assert.deepEqual(await world.altScores("PB"), initial.get("PB"), "the failed tenant is unchanged");
      await assertExact(["PA", "PC", "PD"]);
      for (const id of ["PA", "PC", "PD"]) assert.equal(journal.tenants[id]!.state, "verified", id);
      const events = tenantEvents(result.stderr);
      assert.deepEqual(
        events.filter((event) => event.event === "started").map((event) => event.tenant),
        LARGEST_FIRST,
        "the tenants started largest first",
      );
      assert.equal(mostAtOnce(events), 2);
    } finally {
      await allowLock();
    }
  });

  it("--fail-fast with --parallel 2: after a tenant fails none starts; the one running finishes its attempt", async () => {
    const allowLock = await refuseLock("PB");
    try {
      const result = await world.runBackfill(["--parallel", "2", "--fail-fast"]);
      assert.equal(result.code, 1, result.stderr);
      const events = tenantEvents(result.stderr);
      const failure = events.findIndex((event) => event.tenant === "PB" && event.event === "FAILED");
      assert.ok(failure > 0, result.stderr);
      assert.deepEqual(
        events.slice(failure).filter((event) => event.event === "started"),
        [],
        "no tenant started after the failure",
      );
      // PA started with PB and was still at work when PB failed at its lock: it finished.
      const paDone = events.findIndex((event) => event.tenant === "PA" && event.event === "done");
      assert.ok(paDone > failure, "PA was running when PB failed, and finished after");
      const journal = await journalOf(await latestRun());
      assert.equal(journal.tenants.PA!.state, "verified");
      await assertExact(["PA"]);
      for (const id of ["PC", "PD"]) {
        assert.equal(journal.tenants[id]!.skipped, "an earlier tenant failed (--fail-fast)", id);
        assert.equal(journal.tenants[id]!.attempts, 0, id);
        assert.deepEqual(await world.altScores(id), initial.get(id), id);
      }
      assert.match(result.stdout, /PC: skipped/);
    } finally {
      await allowLock();
    }
  });

  it("--fail-fast with --parallel 2 and a tenant the plan finds a problem in: no tenant runs, that one fails with its problem", async () => {
    const config = resolveConfig({ configDir: world.configDir, since: SINCE, env: world.cliEnv() });
    const plan = await buildPlan(config, { backup: true, partBytes: 1 << 20, parallel: 2 });
    assert.deepEqual(plan.failed, []);
    plan.tenants.find((tenant) => tenant.tenant.id === "PC")!.problems = ["a problem the test put there"];
    const report = await runPlan(plan, {
      progress: silentProgress,
      failFast: true,
      journalDir: world.journalDir,
    });
    assert.deepEqual(
      report.tenants.map((tenant) => [tenant.tenant, tenant.status]),
      [
        ["PA", "skipped"],
        ["PB", "skipped"],
        ["PC", "failed"],
        ["PD", "skipped"],
      ],
    );
    assert.match(report.tenants[2]!.error ?? "", /preflight: a problem the test put there/);
    for (const id of IDS) assert.deepEqual(await world.altScores(id), initial.get(id), id);
  });

  // The tenants stream, so they take turns at the extract and the merge: with two at once, one is
  // in its replace while the other extracts.
  const REPLACE_AND_EXTRACT = "merge#*,extract-start#2";

  it("SIGTERM with one tenant in its replace and another in its extract: both are recorded interrupted, the tables unchanged, migrate-olap restored", async () => {
    const args = [...world.runArgs("run", "--new-run"), "--parallel", "2"];
    const paused = await startPaused(world, args, REPLACE_AND_EXTRACT, undefined, 2);
    const run = await latestRun();
    assert.equal((await world.kubectl()).replicas, 0);
    paused.child.kill("SIGTERM");
    const exit = await paused.exited;
    assert.equal(exit.code, 143, exit.stderr);
    assert.equal((await world.kubectl()).replicas, REPLICAS);
    const journal = await journalOf(run);
    assert.equal(journal.status, "interrupted");
    const running = IDS.filter((id) => journal.tenants[id]!.attempts > 0);
    assert.equal(running.length, 2, "two tenants were running");
    for (const id of running) assert.equal(journal.tenants[id]!.error, "interrupted by SIGTERM", id);
    for (const id of IDS.filter((id) => !running.includes(id))) {
      assert.equal(journal.tenants[id]!.error, undefined, `${id} had not started`);
    }
    for (const id of IDS) assert.deepEqual(await world.altScores(id), initial.get(id), id);
  });

  it("kill -9 while one tenant is inside its replace and another in its extract, then resume: every tenant exact, migrate-olap running again", async () => {
    const tenants = ["--tenant", "PA", "--tenant", "PB", "--tenant", "PC"];
    const args = [...world.runArgs("run", "--new-run"), ...tenants, "--parallel", "2"];
    const paused = await startPaused(world, args, REPLACE_AND_EXTRACT, undefined, 2);
    const run = await latestRun();
    assert.equal((await world.kubectl()).replicas, 0, "migrate-olap stopped for the run");
    const killed = await journalOf(run);
    assert.deepEqual(
      ["PA", "PB"].map((id) => killed.tenants[id]!.state).sort(),
      ["backed-up", "extracted"],
      "one in its replace (extracted), the other in its extract (backed up)",
    );
    for (const id of ["PA", "PB"]) assert.equal(killed.tenants[id]!.attempts, 1, id);
    assert.equal(killed.tenants.PC!.attempts, 0, "PC waits for a free slot");
    paused.child.kill("SIGKILL");
    await paused.exited;
    assert.equal((await world.kubectl()).replicas, 0, "still stopped after the kill");
    for (const id of ["PA", "PB", "PC"]) assert.deepEqual(await world.altScores(id), initial.get(id), id);

    const resumed = await world.runCli([...world.runArgs("resume", run), "--parallel", "2"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    await assertExact(["PA", "PB", "PC"]);
    const done = await journalOf(run);
    assert.equal(done.status, "succeeded");
    assert.deepEqual(
      ["PA", "PB", "PC"].map((id) => done.tenants[id]!.attempts),
      [2, 2, 1],
    );
    assert.equal((await world.kubectl()).replicas, REPLICAS);
  });
});
