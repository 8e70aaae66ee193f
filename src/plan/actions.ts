import type { TenantConfig } from "../config/settings.js";
import type { MysqlStatement, PgStatement } from "../core/statement.js";
import type {
  ExtractMode,
  LoadMode,
  ModeChoice,
  OlapDialectName,
  WarehouseDialectName,
} from "../dialects/choose.js";
import type { LoadSql, TakeLockSql } from "../dialects/postgres.js";
import type { ExtractDriver, IdRange, IdSpan } from "../dialects/types.js";
import type { ControllerSpec } from "../io/deployment/open.js";

export type StepName =
  | "check-staging"
  | "clear-staging"
  | "lock"
  | "backup"
  | "extract"
  | "load"
  | "check-migrate"
  | "merge"
  | "drop-work-tables"
  | "analyze"
  | "check"
  | "verify"
  | "unlock";

/** Steps whose result the runner keeps, and which later actions can be skipped for. */
export type ResultStep = "backup" | "extract" | "load" | "merge" | "check" | "verify";

/** What every action tells the runner, which needs nothing else to run it. */
interface ActionBase<S extends StepName> {
  step: S;
  summary: string;
  /** When the statements depend on data: when the step does its work, and which statements are templates. */
  condition?: string;
  /** Skipped when the journal or this attempt already holds a result of one of these steps. */
  skipWhenDone: ResultStep[];
  /** Its result survives a crash of this process: it is journaled, and a resumed run does not redo it. */
  durable: boolean;
  /** Runs at the end of every attempt, after a failure too. */
  always?: true;
}

/** Fails before anything is modified when the staging folder cannot be written. */
export interface CheckStagingAction extends ActionBase<"check-staging"> {
  stagingUri: string;
  /**
   * With Aurora's server-side extract: Aurora writes one row under a probe folder of the run's
   * own (proving the cluster's role, privilege, bucket policy and network), which is then deleted.
   */
  auroraProbe?: {
    folderUri: string;
    statement: MysqlStatement;
    dialect: "aurora2" | "aurora3";
    /** The probe is watched as the extract is, with a short bound. */
    liveness: ServerExtractAction["liveness"];
  };
}

/** Deletes the files an interrupted attempt left in the staging folder. */
export interface ClearStagingAction extends ActionBase<"clear-staging"> {
  stagingUri: string;
}

export interface LockAction extends ActionBase<"lock"> {
  /** `take` is a template: the run id, host, pid and time are bound when the lock is taken. */
  statements: TakeLockSql;
}

export interface UnlockAction extends ActionBase<"unlock"> {
  /** A template: the run id is bound when the lock is released. */
  release: PgStatement;
}

export interface BackupAction extends ActionBase<"backup"> {
  backupTable: string;
  /** A backup is one transaction: when its table exists, it is complete. */
  exists: PgStatement;
  /** Run in one transaction. */
  statements: PgStatement[];
}

interface ExtractBase extends ActionBase<"extract"> {
  /** Folder URI (ends with `/`) that only this tenant and run writes to. */
  stagingUri: string;
  /** Object names: `<base>.part_00000`, … and `<base>.manifest`, as Aurora names them. */
  objectBase: string;
}

/** The rows stream through this process into staged parts; the OLAP COPY may be fed at the same time. */
export interface StreamExtractAction extends ExtractBase {
  via: "this-process";
  /** The table the server reads first. */
  driver: ExtractDriver;
  /** One query per range of ids of the driving table, read in parallel; NULL alt values are counted, not staged. */
  queries: MysqlStatement[];
  partBytes: number;
  /** The composite part: the staging table is created and `COPY … FROM STDIN` fed as the rows stream. */
  loadAlongside?: { prepare: PgStatement[]; copy: PgStatement };
}

/** The warehouse writes the loadable rows to S3 itself. */
export interface ServerExtractAction extends ExtractBase {
  via: "server";
  /** The count, the extract and the census read one snapshot. */
  snapshot: { begin: MysqlStatement; end: MysqlStatement };
  /** The rows the extract writes, counted by the same selection (the rows staged). */
  stagedCount: MysqlStatement;
  /** `SELECT … INTO OUTFILE S3 … OVERWRITE ON`. */
  statement: MysqlStatement;
  /** Counts the rows with a NULL alt value, which the statement leaves out, by reason. */
  nullCensus: MysqlStatement;
  /**
   * Aurora shows nothing in S3 until a part of up to 6 GB is complete, so a second session
   * watches the statement in the process list; it may run `boundMs` (scaled from the estimate).
   */
  liveness: { connectionId: MysqlStatement; process: MysqlStatement; everyMs: number; boundMs: number };
}

export type ExtractAction = StreamExtractAction | ServerExtractAction;

export interface LoadAction extends ActionBase<"load"> {
  manifestName: string;
  statements: LoadSql;
}

/**
 * Before the replace: migrate-olap must still be stopped (an autoscaler, a GitOps sync or a
 * person may have started it since). Waits a bounded time for it to be stopped again, else the
 * tenant fails with the replace not begun.
 */
export interface CheckMigrateAction extends ActionBase<"check-migrate"> {
  /** How long to wait for migrate-olap to be stopped again. */
  waitMs: number;
  /** What reads its state, as the plan shows it (empty: the controller cannot tell). */
  commands: string[];
}

export interface MergeAction extends ActionBase<"merge"> {
  /**
   * Mark each staged row (but its twins, second score rows for one exam and alt score) kept when
   * its exam is the tenant's OLAP exam, else with why not.
   */
  selectRows: PgStatement[];
  /**
   * The same marks without looking for twins, when the extract saw every staged row and no twins
   * among them; absent where the server writes the parts (nothing watches them).
   */
  selectRowsNoTwins?: PgStatement[];
  /** Settings for the keep pass alone, in a transaction of its own (none: no transaction). */
  keepPassSettings: PgStatement[];
  /** Statistics of the marked rows, for the plans of the statements that read them. */
  analyzeRows: PgStatement;
  /** Settings for those statistics alone, in a transaction of their own (none: no transaction). */
  analyzeRowsSettings: PgStatement[];
  /**
   * Statistics of the staged rows, for the plan of the census of twins: taken only when there are
   * twins (empty where COPY takes them).
   */
  analyzeStage: PgStatement[];
  /**
   * Staged rows that were not kept, by reason, with up to five example ids each: from the marks,
   * or, when the keep pass left twins out (it marked fewer rows than were staged), `withTwins`.
   */
  rejections: { marked: PgStatement; withTwins: PgStatement };
  /** Keys held by more than one kept row (must be none); not read where `exam`'s key is enforced. */
  keysHeldTwice: { enforced: PgStatement | undefined; count: PgStatement };
  /** The kept rows' count and checksum. */
  rowsChecksum: PgStatement;
  /**
   * The three reads of the kept rows above run on a second session during the transaction (the
   * work tables are visible to it); else on the merge's session, before it.
   */
  rejectionsOnSecondSession: boolean;
  /** What the second session starts with. */
  secondSession: PgStatement[];
  /** The single transaction that replaces the affected rows, with the counts checked before COMMIT. */
  transaction: {
    /** Settings for this transaction only (the DELETE's memory). */
    settings: PgStatement[];
    /** The live table's count per school year, alt score and level, before the DELETE. */
    levelsBefore: PgStatement;
    deleteReplaced: PgStatement;
    /** The live table's count and checksum after the DELETE. */
    liveChecksum: PgStatement;
    insertRows: PgStatement;
    /** The same groups after the INSERT, with their checksums: for the checks and the report's charts. */
    levelsAfter: PgStatement;
  };
}

export interface DropWorkTablesAction extends ActionBase<"drop-work-tables"> {
  statements: PgStatement[];
}

/** After the COMMIT: statistics, and the space of the replaced rows when many were deleted. */
export interface AnalyzeAction extends ActionBase<"analyze"> {
  analyze: PgStatement;
  /** Run when the merge deleted at least `minShare` of the live rows; empty where the engine reclaims by itself. */
  reclaim: { statements: PgStatement[]; minShare: number };
}

/** The counts of extract, load and merge add up; the merge measured them, so no SQL. */
export type CheckAction = ActionBase<"check">;

/** The full, read-only comparison of `exam_alt_score` with the warehouse. */
export interface VerifyAction extends ActionBase<"verify"> {
  warehouse: {
    /** Read first: the largest statement the warehouse accepts, which bounds the bitmaps. */
    maxStatementBytes: MysqlStatement;
    /**
     * Templates: the sums of each range's rows of the exams a bitmap of the OLAP exams in scope
     * names (and, for `verify`, of the older exams a second bitmap names).
     */
    rangeSums: MysqlStatement[];
    /** A template: one statement per group that differs (at most 20). */
    groupRows: MysqlStatement;
  };
  olap: {
    /** A template: one statement per page of exam ids. */
    scopePage: PgStatement;
    /** Per group and level: rows in scope, id and checksum sums, orphans; one pass. */
    cells: PgStatement;
    groupRows: PgStatement;
    groupScope: PgStatement;
    /** What the key check's session starts with. */
    duplicateKeysSession: PgStatement[];
    duplicateKeys: PgStatement;
    /** Example orphans, read only when the cells counted some. */
    orphans: PgStatement;
  };
  /**
   * `verify` only: the OLAP exams older than the window without alt score rows (a page at a
   * time: where the page ends, then its exams), made into bitmaps for `warehouse.rangeSums`,
   * which sums the warehouse's loadable alt scores of those exams per school year in the same
   * pass: what a runbook's `DELETE … WHERE true` lost, reported as information.
   */
  older?: { olapPageEnd: PgStatement; olapPage: PgStatement };
  /** What the templates are filled from. */
  scope: { since: string; altScoreIds: number[]; database: string; schema: string };
  /** The exam_score id ranges the warehouse sums at once, one session each (as the extract's). */
  ranges: IdRange[];
  /** The dialects, to fill the templates. */
  dialects: { warehouse: WarehouseDialectName; olap: OlapDialectName };
}

export type Action =
  | CheckStagingAction
  | ClearStagingAction
  | LockAction
  | BackupAction
  | ExtractAction
  | LoadAction
  | CheckMigrateAction
  | MergeAction
  | DropWorkTablesAction
  | AnalyzeAction
  | CheckAction
  | VerifyAction
  | UnlockAction;

export interface RowEstimates {
  /**
   * Exams in the window (`updated >= since`, deleted ones too): counted on the warehouse's
   * `updated` index, or above 500,000 exams estimated from a 1% sample of the exam ids.
   */
  examsInWindow: number;
  /**
   * Alt score rows to expect: exams in the window times the alt scores per (subject, asmt type).
   * An over-estimate, since IAB exams and subjects without alt scores are counted too.
   */
  altScoreRowsApprox: number;
  /** Approximate size of `exam`, from the warehouse's table statistics. */
  examRowsApprox: number;
  /** Approximate size of `exam_score`, from the warehouse's table statistics. */
  examScoreRowsApprox: number;
  /** Rows in `exam_alt_score` now. */
  liveRows: number;
}

/** An alt score as RDW's warehouse names it (`subject_score.code`, its subject's and assessment type's codes). */
export interface AltScoreName {
  id: number;
  code: string;
  /** `subject.code`, e.g. `Math`, `ELA`; absent when the subject is not in `subject`. */
  subjectCode?: string;
  /** `asmt_type.code`, e.g. `ica`, `sum`. */
  asmtTypeCode?: string;
}

/** What discovery found out about a tenant; everything its actions are built from. */
export interface TenantFacts {
  tenant: TenantConfig;
  /** This tenant's and run's staging folder (also in the extract action). */
  stagingUri: string;
  olapSchema: string;
  /** How the schema was found: override property, the tenant user's current_schema(), or the naming rule. */
  olapSchemaSource: string;
  altScoreIds: number[];
  altScoreIdsSource: string;
  /** The alt scores' names, for the plan and the report; empty when the warehouse could not say. */
  altScoreNames: AltScoreName[];
  estimates: RowEstimates;
  /** The lowest and highest ids (null when empty) of `exam` and `exam_score`, to split the extract. */
  idSpans: { exam: IdSpan; examScore: IdSpan };
  extract: ModeChoice<ExtractMode, WarehouseDialectName>;
  load: ModeChoice<LoadMode, OlapDialectName>;
  /**
   * What would make the run fail for this tenant (a forced mode on a server that lacks it, a
   * missing privilege, with the statement that grants it). `run` refuses a tenant that has any.
   */
  problems: string[];
  /** What the preflight checked, and what it could not check without writing (the run's probes do). */
  preflight: { checked: string[]; unchecked: string[] };
}

/** How each kind of session starts, as the dialects say. */
export interface SessionSetup {
  /** Read-only, UTC: the extract's sessions. */
  warehouse: MysqlStatement[];
  /** UTC, with the load's settings: the lock, backup, load, merge and work-table session. */
  olap: PgStatement[];
  /** A second session for reads (rejections during the replace, verify, the report's reads). */
  olapReader: PgStatement[];
}

export interface TenantPlan extends TenantFacts {
  sessions: SessionSetup;
  actions: Action[];
}

export interface FailedTenantPlan {
  tenant: TenantConfig;
  error: string;
}

/** How many tenants a run works on at once, which steps take turns among them, and why, as the plan shows it. */
export interface Parallelism {
  tenants: number;
  reason: string;
  /** Steps that run for one tenant at a time, whatever the number of tenants under way. */
  oneAtATime: readonly StepName[];
  /**
   * With more than one ready tenant at once, each OLAP session runs a statement in one process
   * (no parallel workers): the tenants already share the cores, and a parallel plan costs more CPU
   * in all than a serial one (the benchmark's deployment with `--parallel 4`: PostgreSQL's CPU
   * 40–42 s with workers, 33–42 s and a median of 36 s in eleven runs without).
   */
  oneProcessPerSession: boolean;
  /** Tenant ids in the order the tenants start, and take their turns when they wait for one. */
  startOrder: readonly string[];
}

/** Stopping migrate-olap before the first tenant and starting it after the last. */
export interface MigratePlan {
  spec: ControllerSpec;
  description: string;
  /** Where the deployment-wide lease lives (runs on other tenants share the stop). */
  leaseLocation: string;
  quiesce: string[];
  restore: string[];
  /** Before each replace: what reads whether migrate-olap runs (empty: the controller cannot tell). */
  check: string[];
  /** How long a tenant waits before its replace for a migrate-olap someone started to be stopped again. */
  waitMs: number;
}

export interface Plan {
  runId: string;
  createdAt: string;
  since: string;
  uriRoot: string;
  backup: boolean;
  /** Absent: migrate-olap is left alone (--no-quiesce). */
  migrate?: MigratePlan;
  /** How many tenants run at once, and what follows from it (turns, the sessions' settings). */
  parallelism: Parallelism;
  tenants: TenantPlan[];
  /** Tenants whose preflight failed: nothing will be done for them. */
  failed: FailedTenantPlan[];
}
