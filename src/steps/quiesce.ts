import type { MigrateController } from "../adapters/deployment/controller.js";
import type { ControllerSpec } from "../adapters/deployment/open.js";
import type { RunJournal } from "../journal/journal.js";

/** Replicas to restore when nothing else says how many (a custom quiesce command printed none). */
const DEFAULT_REPLICAS = 1;

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
  journal: RunJournal,
  earlier: RunJournal[],
  warn: (message: string) => void,
): Promise<number> {
  const own = journal.data.migrate;
  const stranded = earlier.find((run) => run.data.migrate?.replicas != null && !run.data.migrate.restoredAt);
  let remembered: number | undefined;
  if (own?.replicas != null && !own.restoredAt) remembered = own.replicas;
  else if (stranded) {
    remembered = stranded.data.migrate!.replicas!;
    warn(
      `run ${stranded.data.runId} left migrate-olap stopped; this run will restore its ${remembered} replicas`,
    );
    await stranded.update((data) => {
      data.migrate!.handedOverTo = journal.data.runId;
      data.migrate!.restoredAt = new Date().toISOString();
    });
  } else {
    remembered = await controller.replicas();
    if (remembered === 0) warn("migrate-olap already had 0 replicas; it will be left at 0");
  }
  const record = (replicas: number | null) =>
    journal.update((data) => {
      data.migrate = { controller: spec, replicas, quiescedAt: new Date().toISOString() };
    });
  await record(remembered ?? DEFAULT_REPLICAS);
  const printed = await controller.stop();
  if (remembered === undefined && printed !== undefined) await record(printed);
  return journal.data.migrate!.replicas!;
}

/** Starts migrate-olap again with the remembered replica count, once. */
export async function restoreMigrate(
  controller: MigrateController,
  journal: RunJournal,
): Promise<number | undefined> {
  const migrate = journal.data.migrate;
  if (migrate?.replicas == null || migrate.restoredAt) return undefined;
  await controller.restore(migrate.replicas);
  await journal.update((data) => {
    data.migrate!.restoredAt = new Date().toISOString();
  });
  return migrate.replicas;
}
