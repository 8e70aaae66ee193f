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
    const olap = await OlapConnection.open(tenantPlan.tenant.olap, `tenant ${tenantReport.tenant} OLAP`, {
      readOnly: true,
    });
    try {
      const sql = new OlapSql(tenantPlan.olapSchema);
      const read = async (table: string): Promise<LevelCount[]> =>
        (await olap.query<Record<string, string>>(sql.levelDistribution(table))).rows.map((row) => ({
          schoolYear: Number(row.school_year),
          subjectScoreId: Number(row.subject_score_id),
          level: Number(row.level),
          students: Number(row.students),
        }));
      const backup = tenantReport.backupTable;
      const hasBackup = backup !== undefined && (await olap.count(sql.tableExists(backup))) > 0;
      distributions.push({
        tenant: tenantReport.tenant,
        before: hasBackup ? await read(backup!) : undefined,
        after: await read("exam_alt_score"),
      });
    } finally {
      await olap.close();
    }
  }
  return distributions;
}
