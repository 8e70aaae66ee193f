import { expectAllCopied } from "../core/checks.js";
import { RuntimeError } from "../core/errors.js";
import type { LoadAction } from "../plan/actions.js";
import type { StepContext } from "./context.js";
import { loadStagedParts } from "./load-parts.js";
import { serverLoad } from "./load-server.js";
import type { LoadResult } from "./results.js";

/**
 * Fills the staging table and checks that every staged row arrived before anything is merged:
 * by ending the COPY that was fed alongside the extract in this attempt, else from this run's
 * staged parts (COPY FROM STDIN), or by the OLAP server reading them from S3.
 */
export async function load(action: LoadAction, context: StepContext): Promise<LoadResult> {
  const extracted = context.results.extract;
  if (!extracted) throw new RuntimeError("internal: the plan loads before it extracts");
  const progress = context.progress("load", extracted.rowsStaged);
  const overlapped = context.attempt.overlapped;
  context.attempt.overlapped = undefined;
  const olap = await context.sessions.olap();
  const result = overlapped
    ? await overlapped.finish(extracted)
    : action.statements.copiesFrom === "s3"
      ? await serverLoad(action.statements, action.manifestName, olap, context.staging)
      : await loadStagedParts(
          action.statements,
          action.manifestName,
          extracted.rowsStaged,
          olap,
          context,
          progress,
        );
  expectAllCopied(extracted.rowsStaged, result.rowsCopied, context.staging.uri);
  progress.done(result.rowsCopied);
  return result;
}
