import { randomBytes } from "node:crypto";

/** `YYYYMMDD_HHMMSS_xxxx` (UTC): sortable, unique, and a valid part of a table name. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
  return `${stamp}_${randomBytes(2).toString("hex")}`;
}
