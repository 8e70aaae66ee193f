import { randomBytes } from "node:crypto";

/** What `newRunId` makes; a run id given on the command line or found in a journal must match it. */
export const RUN_ID = /^\d{8}_\d{6}_[0-9a-f]{4}$/;

/** `YYYYMMDD_HHMMSS_xxxx` (UTC): sortable, unique, and a valid part of a table name. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
  return `${stamp}_${randomBytes(2).toString("hex")}`;
}
