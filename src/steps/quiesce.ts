import type { MigrateController } from "../io/deployment/controller.js";
import type { ControllerSpec } from "../io/deployment/open.js";

/** Replicas to restore when nothing else says how many (a custom quiesce command printed none). */
const DEFAULT_REPLICAS = 1;

/** What a run remembers about migrate-olap, so that whatever happens, a later command can restore it. */
export interface MigrateJournal {
  /** How migrate-olap is stopped and started again, for the next command to finish the job. */
  controller: ControllerSpec;
  /** Replicas it had before the run; null until quiesced. */
  replicas: number | null;
  quiescedAt?: string;
  restoredAt?: string;
  /** A later run took over restoring it (this run had died with migrate-olap stopped). */
  handedOverTo?: string;
}

/** Where a run keeps its `MigrateJournal` (the run's journal). */
export interface MigrateRecord {
  readonly runId: string;
  readonly migrate: MigrateJournal | undefined;
  saveMigrate(change: (migrate: MigrateJournal | undefined) => MigrateJournal): Promise<void>;
}

/**
 * Stops migrate-olap before any tenant is modified. The replica count to restore is written to
 * the journal before the deployment is scaled down, so that whatever happens next, a later
 * command knows it. A resumed run keeps the count it remembered; a new run that finds an earlier
 * run died with migrate-olap stopped takes over that run's count, since the deployment's own
 * count is 0 by then.
 */
export async function quiesce(
  controller: MigrateController,
  spec: ControllerSpec,
  record: MigrateRecord,
  earlier: MigrateRecord[],
  warn: (message: string) => void,
): Promise<number> {
  const own = record.migrate;
  const stranded = earlier.find((run) => run.migrate?.replicas != null && !run.migrate.restoredAt);
  let remembered: number | undefined;
  if (own?.replicas != null && !own.restoredAt) remembered = own.replicas;
  else if (stranded) {
    remembered = stranded.migrate!.replicas!;
    warn(`run ${stranded.runId} left migrate-olap stopped; this run will restore its ${remembered} replicas`);
    await stranded.saveMigrate((migrate) => ({
      ...migrate!,
      handedOverTo: record.runId,
      restoredAt: new Date().toISOString(),
    }));
  } else {
    remembered = await controller.replicas();
    if (remembered === 0) warn("migrate-olap already had 0 replicas; it will be left at 0");
  }
  const remember = (replicas: number | null) =>
    record.saveMigrate(() => ({ controller: spec, replicas, quiescedAt: new Date().toISOString() }));
  await remember(remembered ?? DEFAULT_REPLICAS);
  const printed = await controller.stop();
  if (remembered === undefined && printed !== undefined) await remember(printed);
  return record.migrate!.replicas!;
}

/** Starts migrate-olap again with the remembered replica count, once. */
export async function restoreMigrate(
  controller: MigrateController,
  record: MigrateRecord,
): Promise<number | undefined> {
  const migrate = record.migrate;
  if (migrate?.replicas == null || migrate.restoredAt) return undefined;
  await controller.restore(migrate.replicas);
  await record.saveMigrate((current) => ({ ...current!, restoredAt: new Date().toISOString() }));
  return migrate.replicas;
}
