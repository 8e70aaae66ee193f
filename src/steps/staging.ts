import { Readable } from "node:stream";
import { describeError, RuntimeError } from "../core/errors.js";
import type { CheckStagingAction, ClearStagingAction } from "../plan/actions.js";
import { auroraDialect } from "../dialects/choose.js";
import { openStaging } from "../io/staging/open.js";
import { removeAll } from "../io/staging/store.js";
import { watchedStatement } from "./statement-watch.js";
import type { StepContext } from "./context.js";

const PROBE = "_write_probe";

/**
 * Fails before anything is modified when the run's staging folder cannot be written, by this
 * process or, with a server-side extract, by Aurora.
 */
export async function checkStaging(action: CheckStagingAction, context: StepContext): Promise<void> {
  const { staging } = context;
  try {
    await staging.write(PROBE, Readable.from(["rdw-backfill"]));
    await staging.remove(PROBE);
  } catch (error) {
    throw new RuntimeError(`staging ${staging.uri} is not writable (${describeError(error)})`, {
      cause: error,
    });
  }
  if (action.auroraProbe) await probeAurora(action.auroraProbe, context);
}

async function probeAurora(
  probe: NonNullable<CheckStagingAction["auroraProbe"]>,
  context: StepContext,
): Promise<void> {
  const folder = openStaging(probe.folderUri);
  try {
    // Where S3 cannot be reached, Aurora's write may hang: the probe gets a short bound.
    const session = await context.sessions.warehouse();
    await watchedStatement(
      () => session.execute(probe.statement),
      session,
      () => context.sessions.warehouse(),
      probe.liveness,
      probe.dialect,
    );
  } catch (error) {
    const message = describeError(error);
    const hint = auroraDialect(probe.dialect).probeFailureHint(message, context.staging.uri);
    throw new RuntimeError(`Aurora could not write its probe to ${probe.folderUri} (${message}): ${hint}`, {
      cause: error,
    });
  } finally {
    await removeAll(folder).catch(() => undefined);
  }
}

/** Deletes the files an interrupted attempt left in the run's staging folder. */
export async function clearStaging(_action: ClearStagingAction, context: StepContext): Promise<void> {
  await removeAll(context.staging);
}
