import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type {
  DeploymentView,
  LeaseChange,
  LeaseHolder,
  MigrateController,
  MigrateLease,
} from "../../src/io/deployment/controller.js";
import { CustomCommandController } from "../../src/io/deployment/custom.js";
import {
  annotationsOf,
  HOLDERS_ANNOTATION,
  leaseFromAnnotations,
  ORIGINAL_REPLICAS_ANNOTATION,
} from "../../src/io/deployment/lease-codec.js";
import { tenantActions } from "../../src/plan/tenant-actions.js";
import {
  holdsMigrate,
  leaveLease,
  type MigrateJournal,
  type MigrateRecord,
  quiesce,
  restoreMigrate,
  sortHolders,
} from "../../src/steps/quiesce.js";
import { facts, settings } from "./sample-plan.js";

/** A pid no process has: one that just exited. */
const deadPid = (): number => spawnSync(process.execPath, ["-e", ""]).pid!;

/**
 * An in-memory Deployment with optimistic concurrency, as the Kubernetes API server keeps it:
 * a change decided on a view another writer changed since is refused, and decided again.
 * `interleave` runs once between one read and its write, as another run's update would.
 */
class MemoryDeployment implements MigrateController {
  readonly description = "memory deployment";
  readonly leaseLocation = "memory";
  readonly commands = { quiesce: [], restore: [], check: [] };
  lease: MigrateLease | undefined;
  version = 1;
  scaled: number[] = [];
  conflicts = 0;
  interleave: (() => Promise<void>) | undefined;

  constructor(public replicas: number) {}

  async updateLease<T>(
    decide: (view: DeploymentView) => { change?: LeaseChange; result: T },
  ): Promise<{ result: T; lease: MigrateLease | undefined }> {
    for (;;) {
      const read = this.version;
      const { change, result } = decide({ lease: structuredClone(this.lease), replicas: this.replicas });
      const between = this.interleave;
      this.interleave = undefined;
      await between?.();
      if (!change) return { result, lease: this.lease };
      if (read !== this.version) {
        this.conflicts++;
        continue;
      }
      this.lease = change.lease;
      if (change.scaleTo !== undefined) {
        this.replicas = change.scaleTo;
        this.scaled.push(change.scaleTo);
      }
      this.version++;
      return { result, lease: change.lease };
    }
  }

  async waitStopped(): Promise<void> {}

  async running() {
    return { replicas: this.replicas, pods: this.replicas };
  }
}

class MemoryRecord implements MigrateRecord {
  migrate: MigrateJournal | undefined;
  constructor(readonly runId: string) {}
  async saveMigrate(change: (migrate: MigrateJournal | undefined) => MigrateJournal): Promise<void> {
    this.migrate = change(this.migrate);
  }
}

const spec = { kind: "kubectl", deployment: "migrate-olap-deployment" } as const;
const owner = (runId: string, pid = process.pid) => ({ runId, host: hostname(), pid });
const holder = (runId: string, host: string, pid: number): LeaseHolder => ({ runId, host, pid, since: "" });

describe("migrate-olap's lease", () => {
  it("sorts holders: this run's entries and runs gone from this host go; others stay unless taken over", () => {
    const alive = (_host: string, pid: number) => pid !== 2;
    const holders = [
      holder("mine", "here", 1),
      holder("dead", "here", 2),
      holder("live", "here", 3),
      holder("far", "there", 4),
    ];
    const sorted = sortHolders(holders, { runId: "mine", host: "here", alive });
    assert.deepEqual(
      sorted.kept.map((h) => h.runId),
      ["live", "far"],
    );
    assert.deepEqual(
      sorted.dropped.map(({ holder: h, why }) => `${h.runId}:${why}`),
      ["mine:this run", "dead:gone"],
    );
    const taken = sortHolders(holders, { host: "here", alive, takeOverOtherHosts: true });
    assert.deepEqual(
      taken.kept.map((h) => h.runId),
      ["mine", "live"],
      "a run alive on this host is never dropped",
    );
  });

  it("two runs: the first records the count and stops it, the second joins, the last to leave restores it once", async () => {
    const deployment = new MemoryDeployment(3);
    const a = new MemoryRecord("run_a");
    const b = new MemoryRecord("run_b");
    const warnings: string[] = [];
    const warn = (message: string) => void warnings.push(message);
    assert.equal(await quiesce(deployment, spec, a, owner("run_a"), [], warn), 3);
    assert.equal(deployment.replicas, 0);
    assert.equal(
      await quiesce(deployment, spec, b, owner("run_b"), [], warn),
      3,
      "the count is the first run's, not 0",
    );
    assert.match(warnings.join("\n"), /already stopped for run run_a .*this run joins the lease/);
    assert.deepEqual(
      deployment.lease?.holders.map((h) => h.runId),
      ["run_a", "run_b"],
    );

    const first = await restoreMigrate(deployment, a);
    assert.deepEqual(
      first?.heldBy.map((h) => h.runId),
      ["run_b"],
    );
    assert.equal(deployment.replicas, 0, "still stopped for run_b");
    assert.deepEqual(a.migrate?.keptStoppedFor, ["run_b"]);
    assert.equal(a.migrate?.restoredAt, undefined);
    assert.equal(holdsMigrate(a.migrate), false);

    const last = await restoreMigrate(deployment, b);
    assert.equal(last?.restored, 3);
    assert.equal(deployment.replicas, 3);
    assert.equal(deployment.lease, undefined, "the lease is removed with the restore");
    assert.deepEqual(deployment.scaled, [0, 0, 3], "restored exactly once");
    assert.equal(await restoreMigrate(deployment, b), undefined, "leaving twice does nothing");
  });

  it("joins that race are decided again: the second sees the first's lease, never a count of 0", async () => {
    const deployment = new MemoryDeployment(2);
    const a = new MemoryRecord("run_a");
    const b = new MemoryRecord("run_b");
    // run_b's join happens between run_a's read and its write.
    deployment.interleave = async () =>
      void (await quiesce(deployment, spec, b, owner("run_b"), [], () => {}));
    await quiesce(deployment, spec, a, owner("run_a"), [], () => {});
    assert.equal(deployment.conflicts, 1);
    assert.equal(deployment.lease?.originalReplicas, 2);
    assert.deepEqual(deployment.lease?.holders.map((h) => h.runId).sort(), ["run_a", "run_b"]);
    // Leaving races as well: exactly one restore, by whichever leaves last.
    deployment.interleave = async () => void (await restoreMigrate(deployment, b));
    await restoreMigrate(deployment, a);
    assert.equal(deployment.replicas, 2);
    assert.deepEqual(
      deployment.scaled.filter((n) => n > 0),
      [2],
    );
    assert.equal(deployment.lease, undefined);
  });

  it("a holder gone from this host (kill -9) is dropped by the next run; its count is kept", async () => {
    const deployment = new MemoryDeployment(0);
    deployment.lease = { originalReplicas: 4, holders: [holder("run_dead", hostname(), deadPid())] };
    const c = new MemoryRecord("run_c");
    const warnings: string[] = [];
    assert.equal(await quiesce(deployment, spec, c, owner("run_c"), [], (m) => void warnings.push(m)), 4);
    assert.match(
      warnings.join("\n"),
      /run run_dead .* is gone but still held migrate-olap's lease: dropped from it/,
    );
    await restoreMigrate(deployment, c);
    assert.equal(deployment.replicas, 4);
  });

  it("a holder on another host keeps it stopped until it leaves, or an explicit take-over drops it", async () => {
    const deployment = new MemoryDeployment(0);
    deployment.lease = { originalReplicas: 3, holders: [holder("run_far", "another-host", 77)] };
    const swept = await leaveLease(deployment, {});
    assert.deepEqual(
      swept.heldBy.map((h) => h.runId),
      ["run_far"],
    );
    assert.equal(deployment.replicas, 0);
    const taken = await leaveLease(deployment, { takeOver: true });
    assert.equal(taken.restored, 3);
    assert.deepEqual(
      taken.dropped.map((d) => d.why),
      ["taken over"],
    );
    assert.equal(deployment.replicas, 3);
  });

  it("a run from before the lease (no annotations) restores its journal's count, unless migrate-olap runs again", async () => {
    const deployment = new MemoryDeployment(0);
    const old = new MemoryRecord("run_old");
    old.migrate = { controller: spec, replicas: 5, quiescedAt: "2026-01-01T00:00:00Z" };
    assert.equal((await restoreMigrate(deployment, old))?.restored, 5);
    const again = new MemoryRecord("run_old2");
    again.migrate = { controller: spec, replicas: 5, quiescedAt: "2026-01-01T00:00:00Z" };
    const outcome = await restoreMigrate(deployment, again);
    assert.equal(outcome?.alreadyRunning, 5);
    assert.deepEqual(deployment.scaled, [5]);
  });

  it("the annotations round-trip, and a damaged one is named", () => {
    const lease = { originalReplicas: 3, holders: [holder("r1", "h", 9)] };
    const annotations = annotationsOf(lease) as Record<string, string>;
    assert.deepEqual(leaseFromAnnotations(annotations, "deployment d"), lease);
    assert.deepEqual(annotationsOf(undefined), {
      [ORIGINAL_REPLICAS_ANNOTATION]: null,
      [HOLDERS_ANNOTATION]: null,
    });
    assert.equal(leaseFromAnnotations({ other: "x" }, "deployment d"), undefined);
    assert.throws(
      () => leaseFromAnnotations({ [ORIGINAL_REPLICAS_ANNOTATION]: "three" }, "deployment d"),
      /deployment d: annotation rdw-backfill\/original-replicas is "three", not a replica count/,
    );
    assert.throws(
      () => leaseFromAnnotations({ ...annotations, [HOLDERS_ANNOTATION]: "[{" }, "deployment d"),
      /annotation rdw-backfill\/holders: not a JSON list of runs/,
    );
  });
});

describe("migrate-olap's lease with custom commands: a file beside the journals", () => {
  let dir = "";
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the first run's quiesce command runs once and its printed count is restored once, by the last run", async () => {
    dir = await mkdtemp(join(tmpdir(), "rdw-lease-"));
    const log = join(dir, "log");
    const leaseFile = join(dir, "migrate-lease.json");
    const controller = new CustomCommandController(
      `echo stop >> ${log}; echo 6`,
      `echo "restore $RDW_BACKFILL_REPLICAS" >> ${log}`,
      leaseFile,
    );
    const a = new MemoryRecord("run_a");
    const b = new MemoryRecord("run_b");
    // Both join at once: the file lock makes them take turns.
    const [countA, countB] = await Promise.all([
      quiesce(controller, spec, a, owner("run_a"), [], () => {}),
      quiesce(controller, spec, b, owner("run_b"), [], () => {}),
    ]);
    assert.deepEqual([countA, countB], [6, 6]);
    const lease = JSON.parse(await readFile(leaseFile, "utf8")) as {
      originalReplicas: number;
      holders: unknown[];
    };
    assert.equal(lease.originalReplicas, 6);
    assert.equal(lease.holders.length, 2);
    await Promise.all([restoreMigrate(controller, a), restoreMigrate(controller, b)]);
    assert.deepEqual((await readFile(log, "utf8")).trim().split("\n"), ["stop", "stop", "restore 6"]);
    await assert.rejects(readFile(leaseFile), /ENOENT/, "the last run removes the lease");
  });
});

describe("the plan checks migrate-olap before each replace", () => {
  const sample = facts("CA", "warehouse_ca", "reporting_ca", "s3://b/ca/", [19]);

  it("check-migrate comes right before merge, with the bound of the wait", () => {
    const steps = (migrateCheck?: { description: string; commands: string[]; waitMs: number }) =>
      tenantActions(sample, settings(migrateCheck ? { migrateCheck } : {}));
    const actions = steps({
      description: "kubectl deployment m",
      commands: ["kubectl get …"],
      waitMs: 30_000,
    });
    const names = actions.map((action) => action.step);
    assert.equal(names[names.indexOf("merge") - 1], "check-migrate");
    const check = actions.find((action) => action.step === "check-migrate")!;
    assert.match(check.condition ?? "", /wait up to 30 s .*else fail the tenant with the replace not begun/);
    assert.deepEqual(check.skipWhenDone, ["merge"]);
    assert.equal(
      steps().some((action) => action.step === "check-migrate"),
      false,
      "not with --no-quiesce",
    );
  });
});
