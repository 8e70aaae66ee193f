import { RuntimeError } from "../../core/errors.js";
import type { LeaseHolder, MigrateLease } from "./controller.js";

/** The Deployment's annotations that hold the lease (kubectl mode). */
export const ORIGINAL_REPLICAS_ANNOTATION = "rdw-backfill/original-replicas";
export const HOLDERS_ANNOTATION = "rdw-backfill/holders";

/** The holders as one annotation value: a JSON array, readable in `kubectl describe`. */
export function formatHolders(holders: readonly LeaseHolder[]): string {
  return JSON.stringify(
    holders.map((holder) => ({ run: holder.runId, host: holder.host, pid: holder.pid, since: holder.since })),
  );
}

export function parseHolders(text: string, where: string): LeaseHolder[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RuntimeError(`${where}: not a JSON list of runs: ${text.slice(0, 200)}`);
  }
  if (!Array.isArray(parsed))
    throw new RuntimeError(`${where}: not a JSON list of runs: ${text.slice(0, 200)}`);
  return parsed.map((item: unknown) => {
    const entry = item as { run?: unknown; host?: unknown; pid?: unknown; since?: unknown };
    if (typeof entry.run !== "string" || typeof entry.host !== "string" || !Number.isInteger(entry.pid)) {
      throw new RuntimeError(`${where}: a holder without run, host and pid: ${JSON.stringify(item)}`);
    }
    return {
      runId: entry.run,
      host: entry.host,
      pid: entry.pid as number,
      since: typeof entry.since === "string" ? entry.since : "",
    };
  });
}

/** The lease from the Deployment's annotations; absent when neither annotation is there. */
export function leaseFromAnnotations(
  annotations: Record<string, string> | undefined,
  where: string,
): MigrateLease | undefined {
  const original = annotations?.[ORIGINAL_REPLICAS_ANNOTATION];
  const holders = annotations?.[HOLDERS_ANNOTATION];
  if (original === undefined && holders === undefined) return undefined;
  const count = Number(original);
  if (original === undefined || original.trim() === "" || !Number.isInteger(count) || count < 0) {
    throw new RuntimeError(
      `${where}: annotation ${ORIGINAL_REPLICAS_ANNOTATION} is ${original === undefined ? "missing" : `"${original}"`}, not a replica count; ` +
        `set it to the replicas migrate-olap should get back (kubectl annotate --overwrite …)`,
    );
  }
  return {
    originalReplicas: count,
    holders: holders === undefined ? [] : parseHolders(holders, `${where}: annotation ${HOLDERS_ANNOTATION}`),
  };
}

/** The annotations a merge patch writes for a lease; null removes an annotation. */
export function annotationsOf(lease: MigrateLease | undefined): Record<string, string | null> {
  return lease
    ? {
        [ORIGINAL_REPLICAS_ANNOTATION]: String(lease.originalReplicas),
        [HOLDERS_ANNOTATION]: formatHolders(lease.holders),
      }
    : { [ORIGINAL_REPLICAS_ANNOTATION]: null, [HOLDERS_ANNOTATION]: null };
}

/** The lease as the custom-command mode keeps it in its file. */
export function leaseToFileText(lease: MigrateLease): string {
  return (
    JSON.stringify(
      {
        originalReplicas: lease.originalReplicas,
        holders: JSON.parse(formatHolders(lease.holders)) as unknown,
      },
      null,
      2,
    ) + "\n"
  );
}

export function leaseFromFileText(text: string, where: string): MigrateLease {
  let parsed: { originalReplicas?: unknown; holders?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new RuntimeError(`${where}: not JSON; fix or delete it`);
  }
  const count = parsed.originalReplicas;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
    throw new RuntimeError(`${where}: originalReplicas is not a replica count; fix or delete it`);
  }
  return { originalReplicas: count, holders: parseHolders(JSON.stringify(parsed.holders ?? []), where) };
}
