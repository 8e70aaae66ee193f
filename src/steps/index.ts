import type { Action } from "../plan/actions.js";
import { analyze } from "./analyze.js";
import { backup } from "./backup.js";
import { check } from "./check.js";
import type { StepContext } from "./context.js";
import { extract } from "./extract.js";
import { load } from "./load.js";
import { lock, unlock } from "./lock.js";
import { merge } from "./merge.js";
import { checkMigrate } from "./migrate-check.js";
import { checkStaging, clearStaging } from "./staging.js";
import type { StepResults } from "./results.js";
import { verify } from "./verify.js";

/** Runs one action of the plan with the step that implements it; returns what it produced. */
export async function runStep(action: Action, context: StepContext): Promise<StepResults> {
  switch (action.step) {
    case "check-staging":
      await checkStaging(action, context);
      return {};
    case "clear-staging":
      await clearStaging(action, context);
      return {};
    case "lock":
      await lock(action, context);
      return {};
    case "unlock":
      await unlock(action, context);
      return {};
    case "backup":
      return { backup: await backup(action, context) };
    case "extract":
      return { extract: await extract(action, context) };
    case "load":
      return { load: await load(action, context) };
    case "check-migrate":
      await checkMigrate(action, context);
      return {};
    case "merge":
      return { merge: await merge(action, context) };
    case "drop-work-tables": {
      const olap = await context.sessions.olap();
      for (const statement of action.statements) await olap.query(statement);
      return {};
    }
    case "analyze":
      await analyze(action, context);
      return {};
    case "check":
      return { check: await check(action, context) };
    case "verify":
      return { verify: await verify(action, context) };
  }
}
