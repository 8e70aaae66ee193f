import type { DatabaseLogin } from "../config/settings.js";
import type { Statement } from "../core/statement.js";
import type { Action, Plan, TenantPlan } from "./actions.js";
import { BENCHMARK_RATE, planSummary, type RunRate } from "./estimate.js";
import { journalCopyUri } from "./staging-location.js";

const MASK = "********";
/** When the merge reads the twins (second warehouse score rows for one exam and alt score). */
const ONLY_WITH_TWINS = "only when the keep pass marked fewer rows than were staged (twins)";
/** When the keep pass need not look for twins. */
const ONLY_WITHOUT_TWINS = "when the extract saw every staged row and no twins among them";

type Labeled = [string, Statement];

/** The plan as the operator reads it. Passwords are masked; everything else is shown as it will run. */
export function renderPlan(plan: Plan, options: { sql: boolean; rate?: RunRate } = { sql: true }): string {
  const lines = [
    `Run ${plan.runId}: back-fill exam_alt_score from warehouse exams updated since ${plan.since} UTC`,
    `Staging root: ${plan.uriRoot}   Backup: ${plan.backup ? "yes" : "no (--no-backup)"}`,
    `Journal: saved after each step in the journal folder and to ${journalCopyUri(plan.uriRoot, plan.runId)}journal.json`,
    "",
    ...planSummary(plan, options.rate ?? BENCHMARK_RATE),
    ...renderMigrate(plan),
  ];
  for (const tenant of plan.tenants) lines.push(...renderTenant(tenant, options.sql), "");
  for (const failed of plan.failed)
    lines.push(`Tenant ${failed.tenant.id}: PREFLIGHT FAILED: ${failed.error}`, "");
  return lines.join("\n");
}

/** Stopping and starting migrate-olap: the run's first and last actions. */
function renderMigrate(plan: Plan): string[] {
  const migrate = plan.migrate;
  if (!migrate) return ["migrate-olap: left alone (--no-quiesce)", ""];
  return [
    `migrate-olap: ${migrate.description}`,
    `  lease: ${migrate.leaseLocation}: every run that needs migrate-olap stopped holds it; the first records the ` +
      "replica count and stops it, the last to end starts it again with that count",
    "  before migrate-olap is stopped: each tenant's lock is read; a tenant another run holds is refused, touching nothing",
    ...migrate.quiesce.map((command) => `  before the first tenant: ${command}`),
    ...(migrate.check.length > 0
      ? migrate.check.map((command) => `  before each replace: ${command}`)
      : ["  before each replace: not checked (custom commands cannot tell whether migrate-olap runs)"]),
    ...migrate.restore.map(
      (command) => `  after the last tenant, on failure, Ctrl-C, SIGTERM or SIGHUP: ${command}`,
    ),
    "",
  ];
}

function renderTenant(plan: TenantPlan, withSql: boolean): string[] {
  const { tenant, estimates } = plan;
  const lines = [
    `Tenant ${tenant.id} (${tenant.name}${tenant.sandbox ? ", sandbox" : ""})`,
    `  warehouse:   ${login(tenant.warehouse)}`,
    ...(tenant.warehouseReader !== tenant.warehouse
      ? [`  verify reads: ${login(tenant.warehouseReader)}`]
      : []),
    `  OLAP:        ${login(tenant.olap)}, schema ${plan.olapSchema} (from ${plan.olapSchemaSource})`,
    `  path prefix: ${tenant.pathPrefix || "(none)"}`,
    `  alt subject score ids: ${plan.altScoreIds.join(", ")} (from ${plan.altScoreIdsSource})`,
    `  alt score codes: ${
      plan.altScoreNames
        .map((name) => [name.id, name.subjectCode, name.code, name.asmtTypeCode].filter(Boolean).join(" "))
        .join(", ") || "not readable from the warehouse (the report shows the ids)"
    }`,
    `  estimates:   ~${estimates.examsInWindow} exams in window, up to ~${estimates.altScoreRowsApprox} alt score rows ` +
      `(of ~${estimates.examScoreRowsApprox} exam_score rows), ` +
      `${estimates.liveRows} rows in exam_alt_score now`,
    `  staging:     ${plan.stagingUri}`,
    `  extract:     ${plan.extract.mode} (${plan.extract.reason})`,
    `  load:        ${plan.load.mode} (${plan.load.reason})`,
    ...plan.problems.map((problem) => `  PROBLEM:     ${problem}`),
    ...plan.preflight.checked.map((fact) => `  checked:     ${fact}`),
    ...plan.preflight.unchecked.map((fact) => `  not checked: ${fact}`),
  ];
  if (withSql) {
    lines.push(
      `  warehouse session: ${plan.sessions.warehouse.map((s) => s.sql).join("; ")}`,
      `  OLAP session:      ${plan.sessions.olap.map((s) => s.sql).join("; ")}`,
      `  OLAP reader:       ${plan.sessions.olapReader.map((s) => s.sql).join("; ")}`,
    );
  }
  lines.push("  actions:");
  plan.actions.forEach((action, index) => {
    lines.push(`  ${index + 1}. ${action.step}: ${action.summary}`);
    if (action.condition) lines.push(`     (${action.condition})`);
    if (!withSql) return;
    for (const [label, statement] of statementsOf(action)) lines.push(...renderStatement(label, statement));
  });
  return lines;
}

/** Every statement an action sends, labelled with where and when; templates are marked as such. */
export function statementsOf(action: Action): Labeled[] {
  const each = (label: string, statements: readonly Statement[]): Labeled[] =>
    statements.map((statement): Labeled => [label, statement]);
  switch (action.step) {
    case "check-staging":
      return action.auroraProbe
        ? [
            ["warehouse, the probe's session's id on the server", action.auroraProbe.liveness.connectionId],
            ["warehouse, the probe (its folder is deleted afterwards)", action.auroraProbe.statement],
            [
              `warehouse, a second session, every ${action.auroraProbe.liveness.everyMs / 1000} s meanwhile (template)`,
              action.auroraProbe.liveness.process,
            ],
          ]
        : [];
    case "clear-staging":
      return [];
    case "lock":
      return [
        ["OLAP reader, before migrate-olap is stopped: is there a lock table", action.statements.exists],
        [
          "OLAP reader, before migrate-olap is stopped: who holds the lock (another run's refuses the tenant)",
          action.statements.read,
        ],
        ["OLAP", action.statements.create],
        ["OLAP, BEGIN", action.statements.lockTable],
        ["holders (taken over only if gone, or with --take-over-lock)", action.statements.read],
        ["OLAP", action.statements.clear],
        ["OLAP, then COMMIT (template)", action.statements.take],
      ];
    case "unlock":
      return [["OLAP, also after a failure (template)", action.release]];
    case "backup":
      return [
        ["OLAP, does the backup exist", action.exists],
        ...each("in one transaction", action.statements),
      ];
    case "extract":
      if (action.via === "server") {
        return [
          ["warehouse, one snapshot for the three statements", action.snapshot.begin],
          ["warehouse, the rows the extract writes (the rows staged)", action.stagedCount],
          ["warehouse, its session's id on the server", action.liveness.connectionId],
          [
            `warehouse, which writes the parts to S3 itself (at most ${Math.round(action.liveness.boundMs / 60_000)} min, then KILL QUERY)`,
            action.statement,
          ],
          [
            `warehouse, a second session, every ${action.liveness.everyMs / 1000} s meanwhile (template)`,
            action.liveness.process,
          ],
          ["warehouse, rows left out because an alt value is NULL", action.nullCensus],
          ["warehouse", action.snapshot.end],
        ];
      }
      return [
        ...each("OLAP, before the extract streams", action.loadAlongside?.prepare ?? []),
        ...(action.loadAlongside
          ? [["OLAP, fed as the extract streams", action.loadAlongside.copy] as Labeled]
          : []),
        ...action.queries.map((query, index, all): Labeled => [
          `warehouse${all.length > 1 ? `, ${action.driver} id range ${index + 1} of ${all.length} (read in parallel)` : ""}, ` +
            `streamed to ${action.stagingUri}${action.objectBase}.part_NNNNN`,
          query,
        ]),
      ];
    case "load": {
      const load = action.statements;
      if (load.copiesFrom === "s3") {
        return [
          ...each("OLAP", load.prepare),
          ["OLAP, which reads the parts from S3 itself (not when the manifest lists no part)", load.copy],
          ["rows loaded", load.copiedRows],
          ...each("only if COPY fails: the rows it rejected, from the first that has them", load.loadErrors),
        ];
      }
      return [
        ...each("OLAP, when the COPY did not run alongside the extract", load.prepare),
        [
          "OLAP, when the COPY did not run alongside the extract: the staged parts in the manifest's order, into one COPY",
          load.copy,
        ],
      ];
    }
    case "check-migrate":
      return [];
    case "merge": {
      const { enforced } = action.keysHeldTwice;
      const kept = action.rejectionsOnSecondSession
        ? "OLAP, on a second session during the transaction"
        : "OLAP, before the transaction";
      // The keep pass and the statistics each run in a transaction of their own when they have settings.
      const keepPassCommit = action.keepPassSettings.length > 0 ? "COMMIT; " : "";
      const statisticsInOwnTransaction = action.analyzeRowsSettings.length > 0;
      return [
        ...each("OLAP, BEGIN; for the keep pass only", action.keepPassSettings),
        ...each(`OLAP, ${ONLY_WITHOUT_TWINS}: mark the staged rows`, action.selectRowsNoTwins ?? []),
        ...each(
          action.selectRowsNoTwins
            ? "OLAP, instead, when it saw some or could not tell: mark the staged rows, twins left out"
            : "OLAP: mark the staged rows, twins left out",
          action.selectRows,
        ),
        ...each(`OLAP, ${keepPassCommit}BEGIN; for the statistics only`, action.analyzeRowsSettings),
        [
          statisticsInOwnTransaction
            ? "OLAP, statistics of the marked rows, then COMMIT"
            : `OLAP, ${keepPassCommit}statistics of the marked rows`,
          action.analyzeRows,
        ],
        ...each(`OLAP, ${ONLY_WITH_TWINS}: statistics of the staged rows`, action.analyzeStage),
        ...each("OLAP, the second session first", action.secondSession),
        [`${kept}: the rows not kept, by reason`, action.rejections.marked],
        [
          `${kept}, instead, ${ONLY_WITH_TWINS}: the rows not kept, twins included`,
          action.rejections.withTwins,
        ],
        ...(enforced
          ? [[`${kept}: is exam's (school_year, asmt_id, student_id) enforced unique?`, enforced] as Labeled]
          : []),
        [
          `${kept}${enforced ? ", only when it is not" : ""}: keys held by two kept rows`,
          action.keysHeldTwice.count,
        ],
        [`${kept}: the kept rows' count and checksum`, action.rowsChecksum],
        ...each("BEGIN; for this transaction only", action.transaction.settings),
        [
          `${action.transaction.settings.length > 0 ? "" : "BEGIN; "}count before, per school year, alt score and level`,
          action.transaction.levelsBefore,
        ],
        ["replace", action.transaction.deleteReplaced],
        ["count and checksum after the replace", action.transaction.liveChecksum],
        ["insert", action.transaction.insertRows],
        [
          "count and checksum after the insert, then COMMIT " +
            "(ROLLBACK unless: no key twice among the kept rows, inserted = kept, " +
            "count = after the replace + inserted, checksum = after the replace + the kept rows')",
          action.transaction.levelsAfter,
        ],
      ];
    }
    case "drop-work-tables":
      return each("OLAP, after COMMIT", action.statements);
    case "analyze":
      return [
        ["OLAP, after COMMIT", action.analyze],
        ...each("OLAP, when many rows were replaced", action.reclaim.statements),
      ];
    case "check":
      return [];
    case "verify":
      return [
        [
          "warehouse, first: the largest statement it accepts (it bounds the bitmaps)",
          action.warehouse.maxStatementBytes,
        ],
        ...each("OLAP, a session of its own, at once", action.olap.duplicateKeysSession),
        ["OLAP, on that session, while the rest runs: keys held twice", action.olap.duplicateKeys],
        [
          "OLAP, meanwhile: the ids of the exams in scope, page by page, into bitmaps (template)",
          action.olap.scopePage,
        ],
        ...(action.older
          ? ([
              [
                "OLAP, on another session meanwhile, exams older than the window: where each page ends (template)",
                action.older.olapPageEnd,
              ],
              ["OLAP, the page's exams without alt scores, into bitmaps (template)", action.older.olapPage],
            ] as Labeled[])
          : []),
        ...each(
          action.older
            ? "warehouse, read-only, the sums of one range of exam_score ids, each on its own session at once, for each bitmap of the OLAP exams in scope and of the older exams (template)"
            : "warehouse, read-only, the sums of one range of exam_score ids, each on its own session at once, for each bitmap of the OLAP exams in scope (template)",
          action.warehouse.rangeSums,
        ),
        ["OLAP, at the same time as the warehouse", action.olap.cells],
        ["OLAP, only when the cells count orphans: examples", action.olap.orphans],
        ["warehouse, for each group that differs (template)", action.warehouse.groupRows],
        ["OLAP, for each group that differs (template)", action.olap.groupRows],
        ["OLAP, the group's exams in scope (template)", action.olap.groupScope],
      ];
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
