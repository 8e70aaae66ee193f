import type { DatabaseLogin } from "../config/settings.js";
import type { Action, Plan, Statement, TenantPlan } from "./actions.js";
import { OLAP_SESSION } from "./sql/olap.js";
import { WAREHOUSE_SESSION } from "./sql/warehouse.js";

const MASK = "********";

/** The plan as the operator reads it. Passwords are masked; everything else is shown as it will run. */
export function renderPlan(plan: Plan, options: { sql: boolean } = { sql: true }): string {
  const lines = [
    `Run ${plan.runId}: back-fill exam_alt_score from warehouse exams updated since ${plan.since} UTC`,
    `Staging root: ${plan.uriRoot}   Backup: ${plan.backup ? "yes" : "no (--no-backup)"}`,
    "",
  ];
  for (const tenant of plan.tenants) lines.push(...renderTenant(tenant, options.sql), "");
  for (const failed of plan.failed)
    lines.push(`Tenant ${failed.tenant.id}: PREFLIGHT FAILED: ${failed.error}`, "");
  return lines.join("\n");
}

function renderTenant(plan: TenantPlan, withSql: boolean): string[] {
  const { tenant, estimates } = plan;
  const lines = [
    `Tenant ${tenant.id} (${tenant.name}${tenant.sandbox ? ", sandbox" : ""})`,
    `  warehouse:   ${login(tenant.warehouse)}`,
    `  OLAP:        ${login(tenant.olap)}, schema ${plan.olapSchema} (from ${plan.olapSchemaSource})`,
    `  path prefix: ${tenant.pathPrefix || "(none)"}`,
    `  alt subject score ids: ${plan.altScoreIds.join(", ")} (from ${plan.altScoreIdsSource})`,
    `  estimates:   ~${estimates.examsInWindow} exams in window, up to ~${estimates.altScoreRowsApprox} alt score rows ` +
      `(of ~${estimates.examScoreRowsApprox} exam_score rows), ` +
      `${estimates.liveRows} rows in exam_alt_score now`,
    `  staging:     ${plan.stagingUri}`,
    `  extract:     ${plan.extract.mode} (${plan.extract.reason})`,
    `  load:        ${plan.load.mode} (${plan.load.reason})`,
    ...plan.problems.map((problem) => `  PROBLEM:     ${problem}`),
  ];
  if (withSql) {
    lines.push(
      `  warehouse session: ${WAREHOUSE_SESSION.map((s) => s.sql).join("; ")}`,
      `  OLAP session:      ${OLAP_SESSION.map((s) => s.sql).join("; ")}`,
    );
  }
  lines.push("  actions:");
  plan.actions.forEach((action, index) => {
    lines.push(`  ${index + 1}. ${action.step}: ${action.summary}`);
    if (!withSql) return;
    for (const [label, statement] of statementsOf(action)) lines.push(...renderStatement(label, statement));
  });
  return lines;
}

export function statementsOf(action: Action): [string, Statement][] {
  switch (action.step) {
    case "backup":
      return action.statements.map((s) => ["in one transaction", s]);
    case "extract":
      return action.mode === "aurora"
        ? [
            ["warehouse (Aurora writes the parts and the manifest to S3)", action.statement],
            ["warehouse, rows left out because an alt value is NULL", action.nullCensus],
          ]
        : action.queries.map((query, index, all): [string, Statement] => [
            `warehouse${all.length > 1 ? `, ${action.driver} id range ${index + 1} of ${all.length} (read in parallel)` : ""}, ` +
              `streamed to ${action.stagingUri}${action.objectBase}.part_NNNNN`,
            query,
          ]);
    case "load":
      return action.mode === "redshift"
        ? [
            ["OLAP", action.createStage],
            ["Redshift reads the parts from S3", action.copy],
            ["rows loaded", action.copiedRows],
            ["only if COPY fails: the rows it rejected", action.loadErrors],
          ]
        : [
            ...action.session.map((s): [string, Statement] => ["OLAP session", s]),
            ...action.dropWorkTables.map((s): [string, Statement] => [
              "OLAP, left by an interrupted attempt",
              s,
            ]),
            ["OLAP", action.createStage],
            ["OLAP, fed as the extract streams (after an interruption: once per staged part)", action.copy],
          ];
    case "merge":
      return [
        ...action.selectRows.map((s): [string, Statement] => ["OLAP", s]),
        [
          action.rejectionsAlongside
            ? "OLAP, rows not kept, by reason (on a second session, during the transaction)"
            : "OLAP, rows not kept, by reason",
          action.rejections,
        ],
        ["BEGIN; count before", action.transaction.countLive],
        ["replace", action.transaction.deleteReplaced],
        ["insert", action.transaction.insertRows],
        ["count after", action.transaction.countLive],
        ["check, then COMMIT (ROLLBACK if any count is off)", action.transaction.checkLiveRows],
        ...action.dropWorkTables.map((s): [string, Statement] => ["after COMMIT", s]),
      ];
    case "verify":
      return [];
  }
}

function renderStatement(label: string, statement: Statement): string[] {
  const lines = [`     -- ${label}`, ...statement.sql.split("\n").map((line) => `     ${line}`)];
  if (statement.params.length > 0) lines.push(`     -- bound values: ${JSON.stringify(statement.params)}`);
  return lines;
}

function login(value: DatabaseLogin): string {
  return `${value.user}:${MASK}@${value.host}:${value.port}/${value.database} (${value.origin})`;
}

/** The plan as JSON, with passwords masked. */
export function planToJson(plan: Plan): unknown {
  return JSON.parse(JSON.stringify(plan, (key, value: unknown) => (key === "password" ? MASK : value)));
}
