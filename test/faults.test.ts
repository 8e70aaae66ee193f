import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { localServers } from "../demo/local-servers.js";
import type { PgStatement } from "../src/core/statement.js";
import { PgSession } from "../src/io/db/pg-session.js";
import { resolveConfig } from "../src/config/settings.js";
import { buildPlan, runPlan, silentProgress } from "../src/index.js";
import type { StreamExtractAction } from "../src/plan/actions.js";
import { RunJournal } from "../src/run/journal.js";
import type { RunReport } from "../src/report/summary.js";
import { asLines, expectedAltScores } from "./helpers/oracle.js";
import { CLI, sampleDataset, World } from "./helpers/world.js";

const SINCE = "2019-11-01 00:00:00";
/** Every test ends within this, or fails: none may hang. */
const BOUND_MS = 120_000;

interface Started {
  child: ChildProcess;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Resolves when stderr has shown `text`. */
  saw(text: string | RegExp): Promise<void>;
}

/**
 * The faults of a bad night, on the real servers: sessions killed or terminated while a run
 * works, the S3 server gone for a while, a lock that stalls the extract. Each run must end,
 * within its bound, with exactly the uninterrupted result.
 */
describe("faults: every run ends, and a retried one gives the exact result", () => {
  let world: World;
  const children: ChildProcess[] = [];

  before(async () => {
    world = await World.create({
      staging: "s3",
      tenants: [{ id: "FA", pathPrefix: "fa", dataset: sampleDataset(400, 101) }],
    });
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await world?.destroy();
  });

  const expected = () => asLines(expectedAltScores(world.tenant("FA").dataset, SINCE));

  function start(args: string[], env: NodeJS.ProcessEnv): Started {
    const child = spawn(process.execPath, [CLI, ...world.runArgs("run", "--new-run", "--json", ...args)], {
      env: world.cliEnv(env),
    });
    children.push(child);
    let stdout = "";
    let stderr = "";
    const waiting: { text: string | RegExp; resolve: () => void }[] = [];
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      for (const wait of waiting.splice(0)) {
        if (typeof wait.text === "string" ? stderr.includes(wait.text) : wait.text.test(stderr))
          wait.resolve();
        else waiting.push(wait);
      }
    });
    const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.on("exit", (code) => resolve({ code, stdout, stderr })),
    );
    return {
      child,
      exited,
      saw: (text) =>
        new Promise<void>((resolve, reject) => {
          if (typeof text === "string" ? stderr.includes(text) : text.test(stderr)) return resolve();
          waiting.push({ text, resolve });
          void exited.then(() => reject(new Error(`exited before showing ${String(text)}:\n${stderr}`)));
        }),
    };
  }

  /** The run succeeded with the uninterrupted result, after at least one retry whose cause matches. */
  async function expectRetriedSuccess(run: Started, cause: RegExp): Promise<void> {
    const { code, stdout, stderr } = await run.exited;
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout) as RunReport;
    assert.deepEqual(await world.altScores("FA"), expected());
    const journal = await RunJournal.load(world.journalDir, report.runId);
    const retries = journal.tenant("FA").retries;
    assert.ok(retries.length >= 1, "the fault was retried");
    assert.match(retries[0]!.error, cause);
    assert.equal((await world.kubectl()).replicas, 3, "migrate-olap runs again");
  }

  const killWarehouseSessions = () =>
    world.withMysql(async (connection) => {
      const [rows] = await connection.query(
        "SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()",
        [world.tenant("FA").warehouseDatabase],
      );
      for (const { id } of rows as { id: number }[]) await connection.query(`KILL CONNECTION ${Number(id)}`);
      return (rows as unknown[]).length;
    });

  const terminateOlapSessions = () =>
    world.withPg(
      async (client) =>
        (
          await client.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'rdw-backfill' AND pid <> pg_backend_pid()",
            [world.pgDatabase],
          )
        ).rowCount,
    );

  it(
    "warehouse sessions killed mid-extract (KILL CONNECTION): the attempt fails at once and the retry completes",
    { timeout: BOUND_MS },
    async () => {
      const run = start(["--tenant", "FA"], { RDW_BACKFILL_TEST_PAUSE: "extract@3000" });
      await run.saw("test pause at extract@3000");
      assert.ok((await killWarehouseSessions()) > 0, "the extract's sessions were there to kill");
      await expectRetriedSuccess(run, /warehouse/);
    },
  );

  it(
    "the OLAP session terminated mid-load (pg_terminate_backend): the retry completes",
    { timeout: BOUND_MS },
    async () => {
      const run = start(["--tenant", "FA"], { RDW_BACKFILL_TEST_PAUSE: "load@3000" });
      await run.saw("test pause at load@3000");
      assert.ok((await terminateOlapSessions())! > 0);
      await expectRetriedSuccess(run, /OLAP|terminat|connection/i);
    },
  );

  it(
    "the OLAP session terminated inside the replace transaction: nothing half-done, the retry completes",
    { timeout: BOUND_MS },
    async () => {
      const run = start(["--tenant", "FA"], { RDW_BACKFILL_TEST_PAUSE: "merge@3000" });
      await run.saw("test pause at merge@3000");
      assert.ok((await terminateOlapSessions())! > 0);
      await expectRetriedSuccess(run, /OLAP|terminat|connection/i);
    },
  );

  it("the S3 server gone for a while mid-upload: the run completes", { timeout: BOUND_MS }, async () => {
    const run = start(["--tenant", "FA", "--load-after-extract"], {
      RDW_BACKFILL_TEST_PAUSE: "extract@1000",
    });
    await run.saw("test pause at extract@1000");
    await world.s3!.interrupt(4000);
    const { code, stderr } = await run.exited;
    assert.equal(code, 0, stderr);
    assert.deepEqual(await world.altScores("FA"), expected());
  });

  it(
    "a lock that stalls the extract: the attempt fails after --stall-timeout naming the server and what it did; the retry completes",
    { timeout: BOUND_MS },
    async () => {
      const locker = await world.openMysql();
      try {
        const run = start(["--tenant", "FA", "--stall-timeout", "3"], {
          RDW_BACKFILL_TEST_PAUSE: "extract-start@2000",
        });
        await run.saw("test pause at extract-start@2000");
        await locker.query(`LOCK TABLES ${world.tenant("FA").warehouseDatabase}.exam WRITE`);
        await run.saw(/no row for 3 s while streaming the extract.*attempt 2 of 4/);
        await locker.query("UNLOCK TABLES");
        await expectRetriedSuccess(
          run,
          /tenant FA warehouse .*: no row for 3 s while streaming the extract \(range 1 of 2\)/,
        );
      } finally {
        await locker.end();
      }
    },
  );

  it(
    "a range that scans long before its first row is not a stall: the server still works on it",
    { timeout: BOUND_MS },
    async () => {
      const saved = { ...process.env };
      Object.assign(process.env, world.cliEnv());
      try {
        const config = resolveConfig({ configDir: world.configDir, tenants: ["FA"], env: process.env });
        const plan = await buildPlan(config, { backup: false, partBytes: 1 << 20 });
        const extract = plan.tenants[0]!.actions.find(
          (action) => action.step === "extract",
        ) as StreamExtractAction;
        // The first range's rows come only after 4 s of work on the server (as a long scan would).
        const first = extract.queries[0]!;
        extract.queries[0] = {
          ...first,
          sql: `SELECT q.* FROM (SELECT SLEEP(4) AS s) delay JOIN (${first.sql}) q`,
        };
        delete extract.loadAlongside;
        const report = await runPlan(plan, {
          progress: silentProgress,
          failFast: false,
          journalDir: world.journalDir,
          stallTimeoutMs: 1000,
          attempts: 1,
        });
        assert.equal(report.tenants[0]!.status, "succeeded", report.tenants[0]!.error);
        assert.deepEqual(await world.altScores("FA"), expected());
      } finally {
        for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
        Object.assign(process.env, saved);
      }
    },
  );
});

describe("one pg client, one caller at a time", () => {
  it("statements sent at once on one session run one after another: right answers, no pg warning", async () => {
    const { pg: server } = localServers();
    const login = { ...server, database: "postgres", origin: "test" };
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    const session = await PgSession.open(login, "test", []);
    try {
      const statements = [1, 2, 3, 4].map((n): PgStatement => ({
        protocol: "postgres",
        sql: `SELECT ${n} AS n, pg_sleep(0.05)`,
        params: [],
      }));
      const answers = await Promise.all(statements.map((statement) => session.count(statement)));
      assert.deepEqual(answers, [1, 2, 3, 4]);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      assert.deepEqual(
        warnings.filter((warning) => /already executing a query/.test(warning)),
        [],
      );
    } finally {
      process.off("warning", onWarning);
      await session.close();
    }
  });

  it("rows handed over one by one arrive all and in order; a handler that throws fails the statement, not the process, and the session goes on", async () => {
    const { pg: server } = localServers();
    const session = await PgSession.open({ ...server, database: "postgres", origin: "test" }, "test", []);
    const series: PgStatement = {
      protocol: "postgres",
      sql: "SELECT n::bigint AS id FROM generate_series(1, 100000) n ORDER BY n",
      params: [],
    };
    try {
      const ids: string[] = [];
      assert.equal(await session.eachRow(series, ([id]) => ids.push(String(id))), 100_000);
      assert.equal(ids.length, 100_000);
      assert.ok(ids.every((id, index) => id === String(index + 1)));
      const failing = session.eachRow(series, ([id]) => {
        if (id === "50000") throw new Error("row 50000 refused");
      });
      await assert.rejects(failing, /row 50000 refused/);
      assert.equal(await session.count({ protocol: "postgres", sql: "SELECT 7 AS n", params: [] }), 7);
    } finally {
      await session.close();
    }
  });
});
