import { EXAMPLES_PER_REASON } from "../steps/rejections.js";
import type { Action, ExtractAction, LoadAction, TenantFacts } from "./actions.js";
import {
  OlapSql,
  redshiftAuthorization,
  redshiftCopiedRowsQuery,
  redshiftLoadErrorsQuery,
} from "./sql/olap.js";
import { auroraExtractStatement, extractQuery, nullAltValuesCensus } from "./sql/warehouse.js";

export const OBJECT_BASE = "exam_alt_score";
const LOAD_ERRORS_SHOWN = 20;

export interface ActionSettings {
  runId: string;
  since: string;
  backup: boolean;
  partBytes: number;
  redshiftRole: string | undefined;
  redshiftAuthorization: "iam-role" | "credentials";
}

/** The tenant's actions in order, with their exact SQL. Pure: the same facts give the same plan. */
export function tenantActions(facts: TenantFacts, settings: ActionSettings): Action[] {
  const { olapSchema: schema } = facts;
  const olapSql = new OlapSql(schema);
  const backupTable = `exam_alt_score_backup_${settings.runId}`;
  const actions: Action[] = [];
  if (settings.backup) {
    actions.push({
      step: "backup",
      summary: `copy ${schema}.exam_alt_score (${facts.estimates.liveRows} rows) to ${schema}.${backupTable}`,
      backupTable,
      statements: olapSql.backup(backupTable),
    });
  }
  actions.push(
    extractAction(facts, settings),
    loadAction(facts, settings, olapSql),
    {
      step: "merge",
      summary: `keep rows of exams in ${schema}.exam; replace rows with the same key in one transaction`,
      selectRows: olapSql.selectRows(),
      rejections: olapSql.rejections(EXAMPLES_PER_REASON),
      transaction: {
        countLive: olapSql.countLive(),
        deleteReplaced: olapSql.deleteReplaced(),
        insertRows: olapSql.insertRows(),
        countDuplicateKeys: olapSql.countDuplicateKeys(),
      },
    },
    {
      step: "verify",
      summary: "check that every extracted row is loaded with the warehouse's values or counted as rejected",
      countMatchingLiveRows: olapSql.countMatchingLiveRows(),
      countDuplicateKeys: olapSql.countDuplicateKeys(),
    },
  );
  return actions;
}

function extractAction(facts: TenantFacts, settings: ActionSettings): ExtractAction {
  const database = facts.tenant.warehouse.database;
  const base = { step: "extract" as const, stagingUri: facts.stagingUri, objectBase: OBJECT_BASE };
  const window = `alt scores updated since ${settings.since} UTC from ${database}`;
  if (facts.extract.mode === "aurora") {
    return {
      ...base,
      mode: "aurora",
      summary: `Aurora writes ${window} to ${facts.stagingUri}`,
      statement: auroraExtractStatement(
        database,
        facts.altScoreIds,
        settings.since,
        facts.stagingUri + OBJECT_BASE,
      ),
      nullCensus: nullAltValuesCensus(database, facts.altScoreIds, settings.since),
    };
  }
  return {
    ...base,
    mode: "stream",
    summary: `stream ${window} to ${facts.stagingUri}`,
    query: extractQuery(database, facts.altScoreIds, settings.since),
    partBytes: settings.partBytes,
  };
}

function loadAction(facts: TenantFacts, settings: ActionSettings, olapSql: OlapSql): LoadAction {
  const manifest = `${facts.stagingUri}${OBJECT_BASE}.manifest`;
  if (facts.load.mode === "redshift") {
    const role = settings.redshiftRole ?? "<migrate.aws.redshift.role is not set>";
    return {
      step: "load",
      mode: "redshift",
      summary: `Redshift copies the parts listed in ${manifest} into a temporary staging table`,
      createStage: olapSql.createStage(),
      copy: olapSql.copyStageFromS3(manifest, redshiftAuthorization(role, settings.redshiftAuthorization)),
      copiedRows: redshiftCopiedRowsQuery(),
      loadErrors: redshiftLoadErrorsQuery(LOAD_ERRORS_SHOWN),
    };
  }
  return {
    step: "load",
    mode: "postgres",
    summary: `copy the parts listed in ${manifest} into a temporary staging table`,
    createStage: olapSql.createStage(),
    copy: olapSql.copyStageFromStdin(),
  };
}
