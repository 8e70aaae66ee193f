import { EXAMPLES_PER_REASON } from "../core/rejections.js";
import { auroraDialect, olapDialect, warehouseDialect } from "../dialects/choose.js";
import { chooseDriver, idRanges } from "../dialects/mysql.js";
import type { LoadSql } from "../dialects/postgres.js";
import type { ExtractScope } from "../dialects/types.js";
import type {
  Action,
  CheckStagingAction,
  ExtractAction,
  ResultStep,
  SessionSetup,
  TenantFacts,
  VerifyAction,
} from "./actions.js";
import { auroraProbeFolderUri } from "./staging-location.js";

export const OBJECT_BASE = "exam_alt_score";
/** How long Aurora's one-row probe may take: it writes one small object. */
export const PROBE_BOUND_MS = 2 * 60_000;

/** How often the server-side extract's session is looked up in the process list. */
export const LIVENESS_EVERY_MS = 10_000;

/**
 * How long Aurora's `INTO OUTFILE S3` may run: ten minutes, plus the estimated rows at a
 * quarter of the rate a streamed run reaches here (Aurora writes faster; a loaded cluster slower).
 */
export function serverExtractBoundMs(rowsApprox: number): number {
  return 10 * 60_000 + Math.ceil((rowsApprox / 12_000) * 1000);
}

/** Replaced rows, as a share of the table, from which their space is reclaimed at once. */
export const RECLAIM_SHARE = 0.05;
/** OLAP exam ids read per page in verify. */
export const VERIFY_SCOPE_PAGE = 50_000;
/** How a plan shows the bitmap of exam ids verify binds. */
const EXAM_BITMAP = {
  low: "<first exam id>",
  high: "<last exam id>",
  bits: "<the exams from the first to the last, a bit each>",
};
/** How a plan shows the bitmap of older exams `verify` binds beside it. */
const OLDER_EXAM_BITMAP = {
  low: "<first older exam id>",
  high: "<last older exam id>",
  bits: "<the older exams without alt scores, from the first to the last, a bit each>",
};
/** OLAP exams older than the window read per page in `verify` (their ids only, by the primary key). */
export const VERIFY_OLDER_PAGE = 200_000;
/** Examples per verify check. */
export const VERIFY_EXAMPLES = 5;

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
  /** The full verify at the end of the tenant (`run` without `--no-verify`). */
  verify: boolean;
  /** migrate-olap is stopped for the run: each replace first checks that it still is. */
  migrateCheck?: { description: string; commands: string[]; waitMs: number };
  /** Every OLAP session already runs a statement in one process (`sessionSetup`): none sets it again. */
  oneProcessPerSession: boolean;
}

/**
 * How the tenant's sessions start; with `oneProcess` (tenants at once share the cores), the OLAP
 * sessions run each statement in one process.
 */
export function sessionSetup(facts: TenantFacts, { oneProcess }: { oneProcess: boolean }): SessionSetup {
  const olap = olapDialect(facts.load.dialect);
  const shared = oneProcess ? olap.singleProcess() : [];
  return {
    warehouse: warehouseDialect(facts.extract.dialect).session({ readOnly: true }),
    olap: [...olap.session({ readOnly: false }), ...shared],
    olapReader: [...olap.session({ readOnly: true }), ...shared],
  };
}

/**
 * The tenant's actions in order, with their exact SQL: the whole program `run` executes for it.
 * Pure: the same facts give the same plan.
 */
export function tenantActions(facts: TenantFacts, settings: ActionSettings): Action[] {
  const { olapSchema: schema } = facts;
  const olap = olapDialect(facts.load.dialect).tenant(schema, settings.runId);
  const backupTable = `exam_alt_score_backup_${settings.runId}`;
  const { release, ...takeLock } = olap.lock();
  const manifestName = `${OBJECT_BASE}.manifest`;
  const dropWorkTables = olap.dropWorkTables();
  const actions: Action[] = [
    {
      step: "check-staging",
      summary: `check that ${facts.stagingUri} can be written (a probe object is written and deleted)`,
      stagingUri: facts.stagingUri,
      ...auroraProbe(facts),
      skipWhenDone: ["extract"],
      durable: false,
    },
    {
      step: "lock",
      summary: `take the tenant lock in ${schema}.rdw_backfill_lock`,
      condition: "a lock of a process that is gone is taken over; another only with --take-over-lock",
      statements: takeLock,
      skipWhenDone: [],
      durable: false,
    },
    {
      step: "clear-staging",
      summary: `delete what an interrupted attempt left in ${facts.stagingUri}`,
      condition: "only when the folder holds files",
      stagingUri: facts.stagingUri,
      skipWhenDone: ["extract"],
      durable: false,
    },
  ];
  if (settings.backup) {
    actions.push({
      step: "backup",
      summary: `copy ${schema}.exam_alt_score (${facts.estimates.liveRows} rows) to ${schema}.${backupTable}`,
      condition: "only when the backup table does not exist (a backup is one transaction)",
      backupTable,
      exists: olap.tableExists(backupTable),
      statements: olap.backup(backupTable),
      skipWhenDone: ["backup"],
      durable: true,
    });
  }
  const loadSql = olap.load(`${facts.stagingUri}${manifestName}`, {
    role: settings.redshiftRole,
    form: settings.redshiftAuthorization,
  });
  const extract = extractAction(facts, settings, loadSql);
  actions.push(extract, {
    step: "load",
    summary:
      extract.via === "this-process" && extract.loadAlongside
        ? "end the COPY fed alongside the extract and check its count"
        : `copy the parts listed in ${facts.stagingUri}${manifestName} into a staging table`,
    ...(extract.via === "this-process" && extract.loadAlongside
      ? { condition: "when the extract ran in an earlier attempt: the staged parts are copied instead" }
      : {}),
    manifestName,
    statements: loadSql,
    skipWhenDone: ["merge"],
    durable: false,
  });
  const olapEngine = olapDialect(facts.load.dialect);
  const { workTablesShared } = olapEngine.capabilities;
  const check = settings.migrateCheck;
  if (check) {
    actions.push({
      step: "check-migrate",
      summary: `check that migrate-olap (${check.description}) is still stopped: no replicas, no pods`,
      condition:
        check.commands.length > 0
          ? `if someone started it (an autoscaler, a GitOps sync), wait up to ${check.waitMs / 1000} s for it to be ` +
            "stopped again, else fail the tenant with the replace not begun"
          : "not checked: custom commands cannot tell whether migrate-olap runs",
      waitMs: check.waitMs,
      commands: check.commands,
      skipWhenDone: ["merge"],
      durable: false,
    });
  }
  actions.push({
    step: "merge",
    summary: `keep rows of exams in ${schema}.exam; replace rows with the same key in one transaction`,
    selectRows: olap.selectRows(),
    ...(facts.extract.serverSide ? {} : { selectRowsNoTwins: olap.selectRowsNoTwins() }),
    // Sessions in one process have no parallel workers to price.
    keepPassSettings: settings.oneProcessPerSession ? [] : olap.keepPassSettings(),
    analyzeRows: olap.analyzeRows(),
    analyzeRowsSettings: olap.analyzeRowsSettings(),
    analyzeStage: olap.analyzeStage(),
    rejections: olap.rejections(EXAMPLES_PER_REASON),
    keysHeldTwice: { enforced: olap.examKeyEnforced(), count: olap.keysHeldTwice() },
    rowsChecksum: olap.rowsChecksum(),
    rejectionsOnSecondSession: workTablesShared,
    secondSession: workTablesShared && !settings.oneProcessPerSession ? olapEngine.singleProcess() : [],
    transaction: {
      settings: olap.replaceMemory(),
      levelsBefore: olap.liveLevelCounts(),
      deleteReplaced: olap.deleteReplaced(),
      liveChecksum: olap.liveChecksum(),
      insertRows: olap.insertRows(),
      levelsAfter: olap.liveLevels(),
    },
    skipWhenDone: ["merge"],
    durable: true,
  });
  if (dropWorkTables.length > 0) {
    actions.push({
      step: "drop-work-tables",
      summary: "drop the work tables (an attempt that failed leaves them; the next one drops them first)",
      statements: dropWorkTables,
      skipWhenDone: [],
      durable: false,
    });
  }
  actions.push({
    step: "analyze",
    summary: "refresh exam_alt_score's statistics after the replace, outside its transaction",
    ...(olap.reclaimDeleted().length > 0
      ? {
          condition: `and reclaim the replaced rows' space when at least ${RECLAIM_SHARE * 100}% of the rows were replaced`,
        }
      : {}),
    analyze: olap.analyze(),
    reclaim: { statements: olap.reclaimDeleted(), minShare: RECLAIM_SHARE },
    skipWhenDone: ["check"],
    durable: false,
  });
  actions.push({
    step: "check",
    summary:
      "check that every extracted row is loaded with the warehouse's values or counted as rejected " +
      "(from the counts taken before COMMIT)",
    skipWhenDone: ["check"],
    durable: true,
  });
  if (settings.verify) actions.push(verifyAction(facts, settings));
  actions.push({
    step: "unlock",
    summary: "release the tenant lock",
    release,
    skipWhenDone: [],
    durable: false,
    always: true,
  });
  return actions;
}

/** Aurora proves it may write to S3 before anything is touched: one row under a probe folder. */
function auroraProbe(facts: TenantFacts): Pick<CheckStagingAction, "auroraProbe" | "condition"> {
  const name = facts.extract.dialect;
  if (!facts.extract.serverSide || name === "mysql") return {};
  const folderUri = auroraProbeFolderUri(facts.stagingUri);
  return {
    condition: `and ${warehouseDialect(name).label} writes one row to ${folderUri}, which is deleted again`,
    auroraProbe: {
      folderUri,
      statement: auroraDialect(name).probe(`${folderUri}probe`),
      dialect: name,
      liveness: {
        connectionId: auroraDialect(name).connectionId(),
        process: auroraDialect(name).processOf("<the probe's connection id>"),
        everyMs: LIVENESS_EVERY_MS,
        boundMs: PROBE_BOUND_MS,
      },
    },
  };
}

/** The actions of `verify`: the full comparison only. */
export function verifyOnlyActions(facts: TenantFacts, settings: ActionSettings): Action[] {
  return [verifyAction(facts, settings, { older: true })];
}

function scopeOf(facts: TenantFacts, since: string): ExtractScope {
  return { database: facts.tenant.warehouse.database, altScoreIds: facts.altScoreIds, since };
}

function extractAction(facts: TenantFacts, settings: ActionSettings, load: LoadSql): ExtractAction {
  const scope = scopeOf(facts, settings.since);
  const warehouse = warehouseDialect(facts.extract.dialect);
  const base = {
    step: "extract" as const,
    stagingUri: facts.stagingUri,
    objectBase: OBJECT_BASE,
    skipWhenDone: ["extract"] as ResultStep[],
    durable: true,
  };
  const window = `alt scores updated since ${settings.since} UTC from ${scope.database}`;
  if (facts.extract.serverSide) {
    return {
      ...base,
      via: "server",
      summary: `${warehouse.label} writes ${window} to ${facts.stagingUri}`,
      condition: `then this process lists the parts and writes ${OBJECT_BASE}.manifest for COPY, with "mandatory": true`,
      snapshot: warehouse.snapshot(),
      stagedCount: warehouse.stagedCount(scope),
      statement: warehouse.extractToS3(scope, facts.stagingUri + OBJECT_BASE),
      nullCensus: warehouse.nullCensus(scope),
      liveness: {
        connectionId: warehouse.connectionId(),
        process: warehouse.processOf("<the extract's connection id>"),
        everyMs: LIVENESS_EVERY_MS,
        boundMs: serverExtractBoundMs(facts.estimates.altScoreRowsApprox),
      },
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
  // Only rows that pass through this process can feed a COPY FROM STDIN as they go.
  const alongside = settings.overlapLoad && load.copiesFrom === "stdin";
  return {
    ...base,
    via: "this-process",
    summary:
      `stream ${window} to ${facts.stagingUri}, reading ${reading} in ${ranges.length} parallel range(s)` +
      (alongside ? ", and copy the rows into a staging table as they stream" : ""),
    driver,
    queries: ranges.map((range) => warehouse.streamExtract(scope, driver, range)),
    partBytes: settings.partBytes,
    ...(alongside ? { loadAlongside: { prepare: load.prepare, copy: load.copy } } : {}),
  };
}

function verifyAction(
  facts: TenantFacts,
  settings: ActionSettings,
  options: { older: boolean } = { older: false },
): VerifyAction {
  const scope = scopeOf(facts, settings.since);
  const warehouse = warehouseDialect(facts.extract.dialect);
  const olapEngine = olapDialect(facts.load.dialect);
  const olap = olapEngine.tenant(facts.olapSchema, settings.runId);
  const group = ["<school year>", "<asmt id>", "<alt score id>"] as const;
  const { lowest, highest } = facts.idSpans.examScore;
  const ranges = idRanges(lowest, highest, settings.extractStreams);
  return {
    step: "verify",
    summary:
      "compare exam_alt_score with the warehouse, read-only: completeness, uniqueness, orphans, values, aggregate report",
    condition:
      `the ids of the OLAP exams in scope are read in pages of ${VERIFY_SCOPE_PAGE} into a bitmap, bound to each ` +
      "warehouse session's statement; each sums its range's rows of those exams per group; groups whose counts or " +
      "checksums differ (at most 20) are read row by row",
    warehouse: {
      maxStatementBytes: warehouse.maxStatementBytes(),
      rangeSums: ranges.map((range) =>
        warehouse.verifyRangeSums(scope, range, EXAM_BITMAP, options.older ? OLDER_EXAM_BITMAP : undefined),
      ),
      groupRows: warehouse.verifyGroupRows(scope, group),
    },
    olap: {
      scopePage: olap.scopePage(settings.since, "<last id>", VERIFY_SCOPE_PAGE),
      cells: olap.verifyCells(facts.altScoreIds, settings.since),
      groupRows: olap.verifyGroupRows(facts.altScoreIds, settings.since, group),
      groupScope: olap.verifyGroupScope(settings.since, group),
      duplicateKeysSession: settings.oneProcessPerSession ? [] : olapEngine.singleProcess(),
      duplicateKeys: olap.duplicateKeys(VERIFY_EXAMPLES),
      orphans: olap.orphans(VERIFY_EXAMPLES),
    },
    ...(options.older
      ? {
          older: {
            olapPageEnd: olap.olderPageEnd(settings.since, "<last id>", VERIFY_OLDER_PAGE),
            olapPage: olap.olderExamsWithoutAltScores(
              facts.altScoreIds,
              settings.since,
              "<last id>",
              "<the page's last id>",
            ),
          },
        }
      : {}),
    scope: {
      since: settings.since,
      altScoreIds: facts.altScoreIds,
      database: scope.database,
      schema: facts.olapSchema,
    },
    ranges,
    dialects: { warehouse: facts.extract.dialect, olap: facts.load.dialect },
    skipWhenDone: ["verify"],
    durable: true,
  };
}
