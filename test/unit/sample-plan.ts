import type { TenantConfig } from "../../src/config/settings.js";
import type { TenantFacts } from "../../src/plan/actions.js";
import type { ActionSettings } from "../../src/plan/tenant-actions.js";

/** Sample tenants' facts and settings, to build plans without servers. */

const login = { host: "h", port: 1, user: "u", password: "p", origin: "o" };
export const tenant = (id: string, database: string): TenantConfig => ({
  id,
  name: id,
  sandbox: false,
  pathPrefix: "",
  warehouse: { ...login, database },
  warehouseReader: { ...login, database },
  olap: { ...login, database: "rdw" },
  olapTenantLogin: undefined,
  olapSchemaOverride: undefined,
  altScoreIdsOverride: undefined,
});

export const facts = (
  id: string,
  database: string,
  schema: string,
  stagingUri: string,
  altScoreIds: number[],
  streaming = false,
  auroraDialect: "aurora2" | "aurora3" = "aurora3",
): TenantFacts => ({
  tenant: tenant(id, database),
  stagingUri,
  olapSchema: schema,
  olapSchemaSource: "test",
  altScoreIds,
  altScoreIdsSource: "test",
  altScoreNames: altScoreIds.map((id) => ({ id, code: `ALT${id}`, subjectCode: "ELA", asmtTypeCode: "sum" })),
  estimates: {
    examsInWindow: 0,
    altScoreRowsApprox: 0,
    examRowsApprox: 0,
    examScoreRowsApprox: 0,
    liveRows: 0,
  },
  idSpans: { exam: { lowest: 1000, highest: 1999 }, examScore: { lowest: 50000, highest: 52999 } },
  extract: streaming
    ? { mode: "stream", reason: "test", dialect: "mysql", serverSide: false }
    : { mode: "aurora", reason: "test", dialect: auroraDialect, serverSide: true },
  load: streaming
    ? { mode: "postgres", reason: "test", dialect: "postgres", serverSide: false }
    : { mode: "redshift", reason: "test", dialect: "redshift", serverSide: true },
  problems: [],
  preflight: { checked: [], unchecked: [] },
});

export const settings = (overrides: Partial<ActionSettings>): ActionSettings => ({
  runId: "20261124_031500_ab12",
  since: "2019-11-01 00:00:00.000000",
  backup: true,
  partBytes: 1,
  extractStreams: 2,
  overlapLoad: true,
  redshiftRole: "arn:aws:iam::123456789012:role/rdw-redshift",
  redshiftAuthorization: "iam-role",
  verify: true,
  oneProcessPerSession: false,
  ...overrides,
});
