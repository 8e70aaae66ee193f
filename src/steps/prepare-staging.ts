import { Readable } from "node:stream";
import { describeError, RuntimeError } from "../core/errors.js";
import type { PrepareStagingAction } from "../plan/actions.js";
import type { StepContext } from "./context.js";

const PROBE = "_write_probe";

/**
 * Fails before anything is modified when the run's staging folder cannot be written, and
 * deletes the files an interrupted attempt left there.
 */
export async function prepareStaging(_action: PrepareStagingAction, context: StepContext): Promise<void> {
  const { staging } = context;
  try {
    await staging.write(PROBE, Readable.from(["rdw-backfill"]));
    await staging.remove(PROBE);
  } catch (error) {
    throw new RuntimeError(`staging ${staging.uri} is not writable (${describeError(error)})`, {
      cause: error,
    });
  }
  for (const object of await staging.list()) await staging.remove(object.name);
}
