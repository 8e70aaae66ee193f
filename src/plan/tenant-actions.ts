import { EXAMPLES_PER_REASON } from "../steps/rejections.js";
import type { Action, ExtractAction, LoadAction, TenantFacts } from "./actions.js";
import {
  OlapSql,
  TEMPORARY_WORK_TABLES,
  unloggedWorkTables,
  redshiftAuthorization,
  redshiftCopiedRowsQuery,
  redshiftLoadErrorsQuery,
} from "./sql/olap.js";
import {
  auroraExtractStatement,
  chooseDriver,
  extractQuery,
  idRanges,
  nullAltValuesCensus,
} from "./sql/warehouse.js";

export const OBJECT_BASE = "exam_alt_score";
const LOAD_ERRORS_SHOWN = 20;

export interface ActionSettings {
  runId: string;
  since: string;
  backup: boolean;
  partBytes: number;
  /** Ranges of ids the streaming extract reads at once. */
  extractStreams: number;
  /** Feed the PostgreSQL COPY as the extract streams rather than from the staged parts afterwards. */
  overlapLoad: boolean;
  redshiftRole: string | undefined;
  redshiftAuthorization: "iam-role" | "credentials";
}

/** The tenant's actions in order, with their exact SQL. Pure: the same facts give the same plan. */
export function tenantActions(facts: TenantFacts, settings: ActionSettings): Action[] {
  const { olapSchema: schema } = facts;
  const olapSql = new OlapSql(
    schema,
    facts.load.mode === "postgres" ? unloggedWorkTables(schema, settings.runId) : TEMPORARY_WORK_TABLES,
  );
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
      rejectionsAlongside: facts.load.mode === "postgres",
      transaction: {
        countLive: olapSql.countLive(),
        deleteReplaced: olapSql.deleteReplaced(),
        insertRows: olapSql.insertRows(),
        checkLiveRows: olapSql.checkLiveRows(),
      },
      dropWorkTables: olapSql.dropWorkTables(),
    },
    {
      step: "verify",
      summary:
        "check that every extracted row is loaded with the warehouse's values or counted as rejected " +
        "(from the counts taken before COMMIT)",
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
  const { examsInWindow, examRowsApprox } = facts.estimates;
  const driver = chooseDriver(examsInWindow, examRowsApprox);
  const span = driver === "exam_score" ? facts.idSpans.examScore : facts.idSpans.exam;
  const ranges = idRanges(span.lowest, span.highest, settings.extractStreams);
  const reading =
    driver === "exam_score"
      ? `exam_score in key order (${examsInWindow} of ~${examRowsApprox} exams are in the window)`
      : `exams in the window by their updated index (${examsInWindow} of ~${examRowsApprox})`;
  return {
    ...base,
    mode: "stream",
    summary: `stream ${window} to ${facts.stagingUri}, reading ${reading} in ${ranges.length} parallel range(s)`,
    driver,
    queries: ranges.map((range) => extractQuery(database, facts.altScoreIds, settings.since, driver, range)),
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
  // Only a streamed extract passes through this process, where the COPY can be fed as it goes.
  const alongsideExtract = settings.overlapLoad && facts.extract.mode === "stream";
  return {
    step: "load",
    mode: "postgres",
    summary: alongsideExtract
      ? `copy the rows into a staging table as they are extracted (from the parts listed in ${manifest} when resuming)`
      : `copy the parts listed in ${manifest} into a staging table`,
    alongsideExtract,
    session: olapSql.postgresSession(),
    dropWorkTables: olapSql.dropWorkTables(),
    createStage: olapSql.createStage(),
    copy: olapSql.copyStageFromStdin(),
  };
}
