import { Readable } from "node:stream";
import { describeError, RuntimeError } from "../core/errors.js";
import type { CheckStagingAction, ClearStagingAction } from "../plan/actions.js";
import { removeAll } from "../io/staging/store.js";
import type { StepContext } from "./context.js";

const PROBE = "_write_probe";

/** Fails before anything is modified when the run's staging folder cannot be written. */
export async function checkStaging(_action: CheckStagingAction, context: StepContext): Promise<void> {
  const { staging } = context;
  try {
    await staging.write(PROBE, Readable.from(["rdw-backfill"]));
    await staging.remove(PROBE);
  } catch (error) {
    throw new RuntimeError(`staging ${staging.uri} is not writable (${describeError(error)})`, {
      cause: error,
    });
  }
}

/** Deletes the files an interrupted attempt left in the run's staging folder. */
export async function clearStaging(_action: ClearStagingAction, context: StepContext): Promise<void> {
  await removeAll(context.staging);
}
