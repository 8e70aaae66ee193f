import { OlapConnection } from "../adapters/target/postgres.js";
import type { Plan } from "../plan/actions.js";
import { OlapSql } from "../plan/sql/olap.js";
import type { RunReport } from "./summary.js";

export interface LevelCount {
  schoolYear: number;
  subjectScoreId: number;
  level: number;
  students: number;
}

/** The performance-level distribution of a tenant's exam_alt_score before (its backup) and after the run. */
export interface TenantDistribution {
  tenant: string;
  before: LevelCount[] | undefined;
  after: LevelCount[];
}

/** Reads the distributions of the tenants the run completed; before comes from the run's backup table. */
export async function readDistributions(plan: Plan, report: RunReport): Promise<TenantDistribution[]> {
  const distributions: TenantDistribution[] = [];
  for (const tenantReport of report.tenants) {
    const tenantPlan = plan.tenants.find((t) => t.tenant.id === tenantReport.tenant);
    if (!tenantPlan || tenantReport.status !== "succeeded") continue;
    const login = tenantPlan.tenant.olap;
    const what = `tenant ${tenantReport.tenant} OLAP`;
    // Before and after are read at once, on two sessions: each is a pass over a whole table.
    const sessions = await Promise.all([
      OlapConnection.open(login, what, { readOnly: true }),
      OlapConnection.open(login, what, { readOnly: true }),
    ]);
    try {
      const sql = new OlapSql(tenantPlan.olapSchema);
      const read = async (olap: OlapConnection, table: string): Promise<LevelCount[]> =>
        (await olap.query<Record<string, string>>(sql.levelDistribution(table))).rows.map((row) => ({
          schoolYear: Number(row.school_year),
          subjectScoreId: Number(row.subject_score_id),
          level: Number(row.level),
          students: Number(row.students),
        }));
      const backup = tenantReport.backupTable;
      const hasBackup = backup !== undefined && (await sessions[0].count(sql.tableExists(backup))) > 0;
      const [before, after] = await Promise.all([
        hasBackup ? read(sessions[0], backup!) : undefined,
        read(sessions[1], "exam_alt_score"),
      ]);
      distributions.push({ tenant: tenantReport.tenant, before, after });
    } finally {
      await Promise.all(sessions.map((session) => session.close()));
    }
  }
  return distributions;
}
