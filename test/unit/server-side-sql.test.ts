import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { describe, it } from "node:test";
import type { Statement } from "../../src/core/statement.js";
import type { TenantFacts } from "../../src/plan/actions.js";
import { statementsOf } from "../../src/plan/render.js";
import { type ActionSettings, sessionSetup, tenantActions } from "../../src/plan/tenant-actions.js";
import { facts, settings } from "./sample-plan.js";

const GOLDEN = new URL("../../../test/golden/", import.meta.url);

/** Every statement of the tenant's actions and sessions, as the plan shows them. */
function render(tenantFacts: TenantFacts, actionSettings: ActionSettings): string {
  const statement = (label: string, { sql, params }: { sql: string; params: readonly unknown[] }) =>
    `-- ${label}\n${sql};\n` + (params.length ? `-- bound values: ${JSON.stringify(params)}\n` : "");
  const sessions = Object.entries(sessionSetup(tenantFacts, { oneProcess: false })).flatMap(
    ([kind, statements]) => statements.map((s: Statement) => statement(`session: ${kind}`, s)),
  );
  const actions = tenantActions(tenantFacts, actionSettings)
    .filter((action) => action.step !== "backup")
    .flatMap((action) => statementsOf(action).map(([label, s]) => statement(`${action.step}: ${label}`, s)));
  return [...sessions, ...actions].join("\n");
}

const CASES: [string, TenantFacts, ActionSettings][] = [
  [
    "tenant-with-prefix-iam-role",
    facts(
      "PA",
      "warehouse_pa",
      "reporting_pa",
      "s3://rdw-qa-archive/pa/MigrateAdHoc/exam_alt_score/20261124_031500_ab12/",
      [19, 20],
    ),
    settings({}),
  ],
  [
    "sandbox-credentials-since",
    facts(
      "TS_S001",
      "warehouse_ts_s001",
      "reporting_ts_s001",
      "s3://rdw-qa-archive/MigrateAdHoc/exam_alt_score/20261124_031500_ab12/TS_S001/",
      [21],
    ),
    settings({ redshiftAuthorization: "credentials", since: "2020-07-01 12:30:00.000000" }),
  ],
  [
    "runbook-credentials-string",
    facts(
      "OT",
      "warehouse_ot",
      "reporting_ot",
      "s3://rdw-prod-archive/ot/MigrateAdHoc/exam_alt_score/20261124_031500_ab12/",
      [19, 20, 21],
    ),
    settings({ redshiftRole: "aws_iam_role=arn:aws:iam::123456789012:role/rdw-redshift" }),
  ],
  [
    "stream-postgres-two-ranges",
    facts(
      "PA",
      "warehouse_pa",
      "reporting_pa",
      "s3://rdw-qa-archive/pa/MigrateAdHoc/exam_alt_score/20261124_031500_ab12/",
      [19, 20],
      true,
    ),
    settings({}),
  ],
];

describe("the planned statements of each mode are exactly the reviewed ones (golden files)", () => {
  for (const [name, tenantFacts, actionSettings] of CASES) {
    it(name, async () => {
      const actual = render(tenantFacts, actionSettings);
      const file = new URL(`${name}.sql`, GOLDEN);
      if (process.env.UPDATE_GOLDEN === "1") await writeFile(file, actual);
      assert.equal(actual, await readFile(file, "utf8"));
    });
  }
});

/** Every statement object an action holds, however deep (its fields, lists and nested records). */
function heldStatements(value: unknown, found: Statement[] = []): Statement[] {
  if (Array.isArray(value)) for (const item of value) heldStatements(item, found);
  else if (value !== null && typeof value === "object") {
    if ("sql" in value && "protocol" in value) found.push(value as Statement);
    else for (const field of Object.values(value)) heldStatements(field, found);
  }
  return found;
}

describe("what a dry run shows is what runs", () => {
  for (const [name, tenantFacts, actionSettings] of CASES) {
    it(`${name}: the plan shows every statement each action holds`, () => {
      for (const action of tenantActions(tenantFacts, actionSettings)) {
        const shown = new Set(statementsOf(action).map(([, statement]) => statement));
        const hidden = heldStatements(action).filter((statement) => !shown.has(statement));
        assert.deepEqual(
          hidden.map((statement) => statement.sql),
          [],
          `${action.step}: statements it runs that the plan does not show`,
        );
      }
    });
  }
});
