import { hostname } from "node:os";
import type {
  LeaseChange,
  LeaseHolder,
  MigrateController,
  MigrateLease,
} from "../io/deployment/controller.js";
import type { ControllerSpec } from "../io/deployment/open.js";
import { mayBeAlive } from "../io/process-alive.js";
import type { LockOwner } from "./context.js";

/** Replicas to restore when nothing else says how many (a custom quiesce command printed none). */
const DEFAULT_REPLICAS = 1;

/** What a run remembers about migrate-olap, so that whatever happens, a later command can restore it. */
export interface MigrateJournal {
  /** How migrate-olap is stopped and started again, for the next command to finish the job. */
  controller: ControllerSpec;
  /** Replicas it had before the first run holding the lease stopped it; null until this run joined the lease. */
  replicas: number | null;
  /** When this run joined the lease (and migrate-olap was stopped, by it or an earlier holder). */
  quiescedAt?: string;
  /** When this run left the lease. */
  releasedAt?: string;
  /** When this run, the last to leave the lease, started migrate-olap again. */
  restoredAt?: string;
  /** Runs that still held the lease when this one left: migrate-olap stayed stopped for them. */
  keptStoppedFor?: string[];
  /** A later command left the lease for this run (it had died holding it). */
  handedOverTo?: string;
}

/** Whether the run still holds migrate-olap's lease, as its journal says. */
export function holdsMigrate(migrate: MigrateJournal | undefined): migrate is MigrateJournal {
  return migrate !== undefined && !migrate.releasedAt && !migrate.restoredAt && !migrate.handedOverTo;
}

/** Where a run keeps its `MigrateJournal` (the run's journal). */
export interface MigrateRecord {
  readonly runId: string;
  readonly migrate: MigrateJournal | undefined;
  saveMigrate(change: (migrate: MigrateJournal | undefined) => MigrateJournal): Promise<void>;
}

export const describeHolder = (holder: LeaseHolder): string =>
  `run ${holder.runId} (host ${holder.host}, pid ${holder.pid}${holder.since ? `, since ${holder.since}` : ""})`;

export interface SortedHolders {
  kept: LeaseHolder[];
  /** Holders left out, and why: `this run` (its own earlier entries), `gone`, `taken over`. */
  dropped: { holder: LeaseHolder; why: "this run" | "gone" | "taken over" }[];
}

/**
 * Which holders of the lease stay: every entry of `runId` goes (the run is leaving, or joining
 * again after a resume), a run provably gone from this host goes, and with `takeOverOtherHosts`
 * a run on another host goes (nothing here can prove it dead). A run alive on this host stays.
 */
export function sortHolders(
  holders: readonly LeaseHolder[],
  options: {
    runId?: string;
    takeOverOtherHosts?: boolean;
    host?: string;
    alive?: (host: string, pid: number) => boolean;
  },
): SortedHolders {
  const host = options.host ?? hostname();
  const alive = options.alive ?? mayBeAlive;
  const sorted: SortedHolders = { kept: [], dropped: [] };
  for (const holder of holders) {
    if (holder.runId === options.runId) sorted.dropped.push({ holder, why: "this run" });
    else if (holder.host === host && !alive(holder.host, holder.pid))
      sorted.dropped.push({ holder, why: "gone" });
    else if (holder.host !== host && options.takeOverOtherHosts)
      sorted.dropped.push({ holder, why: "taken over" });
    else sorted.kept.push(holder);
  }
  return sorted;
}

/** The lease after `runId` joins it: the original count is the lease's, else the one given. */
export function joinedLease(
  lease: MigrateLease | undefined,
  holder: LeaseHolder,
  originalIfNew: number,
): { lease: MigrateLease; sorted: SortedHolders } {
  const sorted = sortHolders(lease?.holders ?? [], { runId: holder.runId });
  return {
    lease: { originalReplicas: lease?.originalReplicas ?? originalIfNew, holders: [...sorted.kept, holder] },
    sorted,
  };
}

/**
 * Stops migrate-olap before any tenant is modified, under the deployment-wide lease: the first
 * run records the replica count to restore and stops it, later runs join (the count stays the
 * first one's). Joining and stopping are one atomic step (one merge patch with kubectl), so two
 * runs starting at once cannot both take 0 for the original count. The journal says the run is
 * joining before the lease is changed, and records the count after. Holders that are provably
 * gone (same host, no such pid) are dropped with a warning. A resumed run keeps the count it
 * remembered when the lease is gone; a new run that finds, without a lease, an earlier run that
 * died with migrate-olap stopped takes over that run's count (the deployment's own is 0 by then).
 */
export async function quiesce(
  controller: MigrateController,
  spec: ControllerSpec,
  record: MigrateRecord,
  owner: LockOwner,
  earlier: MigrateRecord[],
  warn: (message: string) => void,
): Promise<number> {
  const own = record.migrate;
  const remembered = holdsMigrate(own) && own.replicas != null ? own.replicas : undefined;
  const stranded = earlier.filter((run) => holdsMigrate(run.migrate) && run.migrate.replicas != null);
  const since = new Date().toISOString();
  await record.saveMigrate(() => ({ controller: spec, replicas: remembered ?? null, quiescedAt: since }));
  const holder: LeaseHolder = { ...owner, since };
  const { result, lease } = await controller.updateLease((view) => {
    const known = remembered ?? stranded[0]?.migrate?.replicas ?? view.replicas;
    const joined = joinedLease(view.lease, holder, known ?? DEFAULT_REPLICAS);
    return {
      change: {
        lease: joined.lease,
        scaleTo: 0,
        ...(view.lease === undefined && known === undefined ? { originalFromStop: true } : {}),
      },
      result: { sorted: joined.sorted, hadLease: view.lease !== undefined, replicasNow: view.replicas },
    };
  });
  const original = lease!.originalReplicas;
  const others = result.sorted.kept;
  const strandedIds = new Set(stranded.map((run) => run.runId));
  for (const { holder: gone, why } of result.sorted.dropped) {
    if (why === "gone" && !strandedIds.has(gone.runId)) {
      warn(`${describeHolder(gone)} is gone but still held migrate-olap's lease: dropped from it`);
    }
  }
  for (const run of stranded) {
    warn(
      `run ${run.runId} left migrate-olap stopped; ` +
        (others.length === 0
          ? `this run will restore its ${original} replicas`
          : `the last run holding the lease will restore its ${original} replicas`),
    );
    const at = new Date().toISOString();
    await run.saveMigrate((migrate) => ({ ...migrate!, handedOverTo: record.runId, releasedAt: at }));
  }
  if (others.length > 0) {
    warn(
      `migrate-olap is already stopped for ${others.map(describeHolder).join(", ")}; this run joins the lease ` +
        `(${controller.leaseLocation}); the last run to end restores ${original} replicas`,
    );
  } else if (
    !result.hadLease &&
    remembered === undefined &&
    stranded.length === 0 &&
    result.replicasNow === 0
  ) {
    warn("migrate-olap already had 0 replicas; it will be left at 0");
  }
  await record.saveMigrate((migrate) => ({ ...migrate!, replicas: original }));
  await controller.waitStopped();
  return original;
}

/** What leaving the lease did. */
export interface LeaveOutcome {
  /** This command started migrate-olap again with this count (the last holder left). */
  restored?: number;
  /** Runs that still hold the lease: migrate-olap stays stopped for them. */
  heldBy: LeaseHolder[];
  /** Holders dropped on the way: gone from this host, or (restore-migrate --take-over-lock) on another host. */
  dropped: SortedHolders["dropped"];
  /** No lease, and migrate-olap was already running with this many replicas: left as it was. */
  alreadyRunning?: number;
}

/**
 * Leaves the lease for `runId` (when given), dropping holders provably gone from this host (and,
 * with `takeOver`, those on other hosts); the last holder to leave starts migrate-olap again with
 * the lease's original count and removes the lease, in one atomic step. Without a lease (a run
 * from before the lease existed), `fallback` is restored if migrate-olap is still stopped.
 */
export async function leaveLease(
  controller: MigrateController,
  options: { runId?: string; takeOver?: boolean; fallback?: number | null },
): Promise<LeaveOutcome> {
  const { result } = await controller.updateLease((view): { change?: LeaseChange; result: LeaveOutcome } => {
    if (!view.lease) {
      const stopped = view.replicas === undefined || view.replicas === 0;
      if (options.fallback == null || !stopped) {
        return {
          result: { heldBy: [], dropped: [], ...(stopped ? {} : { alreadyRunning: view.replicas! }) },
        };
      }
      return {
        change: { lease: undefined, scaleTo: options.fallback },
        result: { restored: options.fallback, heldBy: [], dropped: [] },
      };
    }
    const sorted = sortHolders(view.lease.holders, {
      ...(options.runId === undefined ? {} : { runId: options.runId }),
      takeOverOtherHosts: options.takeOver ?? false,
    });
    if (sorted.kept.length > 0) {
      return {
        ...(sorted.dropped.length > 0 ? { change: { lease: { ...view.lease, holders: sorted.kept } } } : {}),
        result: { heldBy: sorted.kept, dropped: sorted.dropped },
      };
    }
    return {
      change: { lease: undefined, scaleTo: view.lease.originalReplicas },
      result: { restored: view.lease.originalReplicas, heldBy: [], dropped: sorted.dropped },
    };
  });
  return result;
}

/**
 * This run leaves migrate-olap's lease, once: the last run to leave starts migrate-olap again
 * with the original count; an earlier one leaves it stopped for the others. Returns undefined
 * when the run did not hold the lease (any more).
 */
export async function restoreMigrate(
  controller: MigrateController,
  record: MigrateRecord,
  options: { takeOver?: boolean; warn?: (message: string) => void } = {},
): Promise<LeaveOutcome | undefined> {
  const migrate = record.migrate;
  if (!holdsMigrate(migrate)) return undefined;
  const outcome = await leaveLease(controller, {
    runId: record.runId,
    fallback: migrate.replicas,
    ...(options.takeOver === undefined ? {} : { takeOver: options.takeOver }),
  });
  for (const { holder, why } of outcome.dropped) {
    if (why === "gone")
      options.warn?.(
        `${describeHolder(holder)} is gone but still held migrate-olap's lease: dropped from it`,
      );
    if (why === "taken over")
      options.warn?.(`${describeHolder(holder)}: dropped from migrate-olap's lease (--take-over-lock)`);
  }
  const at = new Date().toISOString();
  await record.saveMigrate((current) => ({
    ...current!,
    releasedAt: at,
    ...(outcome.restored !== undefined ? { restoredAt: at } : {}),
    ...(outcome.heldBy.length > 0 ? { keptStoppedFor: outcome.heldBy.map((holder) => holder.runId) } : {}),
  }));
  return outcome;
}

/** One line for the operator: what leaving the lease did to migrate-olap. */
export function describeLeave(outcome: LeaveOutcome): string {
  if (outcome.restored !== undefined) return `migrate-olap restored to ${outcome.restored} replicas`;
  if (outcome.heldBy.length > 0) {
    const elsewhere = outcome.heldBy.some((holder) => holder.host !== hostname());
    return (
      `migrate-olap stays stopped: ${outcome.heldBy.map(describeHolder).join(", ")} still hold${outcome.heldBy.length === 1 ? "s" : ""} ` +
      "its lease; the last to end restores it" +
      (elsewhere
        ? " (a run on another host that is dead: rdw-backfill restore-migrate --take-over-lock)"
        : "")
    );
  }
  if (outcome.alreadyRunning !== undefined)
    return `migrate-olap was already running (${outcome.alreadyRunning} replicas): left as it is`;
  return "migrate-olap: nothing to restore";
}
