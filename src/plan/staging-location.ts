import type { TenantConfig } from "../config/settings.js";

/**
 * The runbook's path `<uri-root>/<path-prefix>/MigrateAdHoc/exam_alt_score`, plus the run id,
 * so that no two runs share a folder (runbook defect 5). Tenants that would share one anyway
 * (no path prefix, or the same one) each get a sub-folder named after the tenant.
 */
export function stagingUris(
  uriRoot: string,
  tenants: readonly TenantConfig[],
  runId: string,
): Map<string, string> {
  const base = (tenant: TenantConfig) =>
    [uriRoot, tenant.pathPrefix, "MigrateAdHoc", "exam_alt_score", runId].filter(Boolean).join("/") + "/";
  const users = new Map<string, number>();
  for (const tenant of tenants) users.set(base(tenant), (users.get(base(tenant)) ?? 0) + 1);
  return new Map(
    tenants.map((tenant) => {
      const uri = base(tenant);
      return [tenant.id, users.get(uri)! > 1 ? `${uri}${tenant.id}/` : uri];
    }),
  );
}

/** Where a run's journal is copied, next to the staged files, so that it survives the operator's machine. */
export const journalCopyUri = (uriRoot: string, runId: string): string =>
  `${uriRoot}/MigrateAdHoc/rdw-backfill/${runId}/`;

/**
 * Where Aurora writes its one-row probe: beside the tenant's staging folder, never inside it (a
 * leftover there would be loaded), so that a failed delete cannot touch the staged rows.
 */
export const auroraProbeFolderUri = (stagingUri: string): string => stagingUri.replace(/\/?$/, "_probe/");
