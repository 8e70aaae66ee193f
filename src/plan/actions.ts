import type { ExtractDriver } from "./sql/warehouse.js";
import type { TenantConfig } from "../config/settings.js";
import type { ExtractMode, LoadMode, ModeChoice } from "./modes.js";

/** One SQL statement exactly as it will be sent, with its bound values. */
export interface Statement {
  sql: string;
  params: readonly (string | number)[];
}

export interface BackupAction {
  step: "backup";
  summary: string;
  backupTable: string;
  /** Run in one transaction. */
  statements: Statement[];
}

interface ExtractBase {
  step: "extract";
  summary: string;
  /** Folder URI (ends with `/`) that only this tenant and run writes to. */
  stagingUri: string;
  /** Object names: `<base>.part_00000`, … and `<base>.manifest`, as Aurora names them. */
  objectBase: string;
}

export interface StreamExtractAction extends ExtractBase {
  mode: "stream";
  /** The table the server reads first, and why. */
  driver: ExtractDriver;
  /**
   * Stream every candidate row, one query per range of ids of the driving table, read in
   * parallel; rows whose alt values are NULL are counted, not staged.
   */
  queries: Statement[];
  partBytes: number;
}

export interface AuroraExtractAction extends ExtractBase {
  mode: "aurora";
  /** `SELECT … INTO OUTFILE S3 … MANIFEST ON OVERWRITE ON`: Aurora writes the loadable rows. */
  statement: Statement;
  /** Counts the rows with a NULL alt value, which the statement leaves out, by reason. */
  nullCensus: Statement;
}

export type ExtractAction = StreamExtractAction | AuroraExtractAction;

interface LoadBase {
  step: "load";
  summary: string;
  createStage: Statement;
}

export interface StdinLoadAction extends LoadBase {
  mode: "postgres";
  /** Settings for the load and merge session. */
  session: Statement[];
  /** COPY is fed by the streaming extract as it goes; from the staged parts when resuming. */
  alongsideExtract: boolean;
  /** Work tables an interrupted attempt may have left, dropped before the stage is created. */
  dropWorkTables: Statement[];
  /** `COPY … FROM STDIN`, fed with each part listed in the manifest. */
  copy: Statement;
}

export interface RedshiftLoadAction extends LoadBase {
  mode: "redshift";
  /** `COPY … FROM '<manifest>' … MANIFEST`: Redshift reads the parts from S3. */
  copy: Statement;
  copiedRows: Statement;
  /** Read when COPY fails, to report line, column and reason. */
  loadErrors: Statement;
}

export type LoadAction = StdinLoadAction | RedshiftLoadAction;

export interface MergeAction {
  step: "merge";
  summary: string;
  /** Keep the staged rows whose exam is the tenant's OLAP exam, one per unique key. */
  selectRows: Statement[];
  /** Staged rows that were not kept, by reason, with up to five example ids each. */
  rejections: Statement;
  /** Read on a second session during the transaction (the work tables are not temporary). */
  rejectionsAlongside: boolean;
  /** The single transaction that replaces the affected rows, with the counts checked before COMMIT. */
  transaction: {
    countLive: Statement;
    deleteReplaced: Statement;
    insertRows: Statement;
    /** Live rows sharing a key with a back-filled row, and those equal to it in every column. */
    checkLiveRows: Statement;
  };
  /** After COMMIT: the work tables are not needed any more. */
  dropWorkTables: Statement[];
}

/** Checks that the counts of extract, load and merge add up; the merge measured them, so no SQL. */
export interface VerifyAction {
  step: "verify";
  summary: string;
}

export type Action = BackupAction | ExtractAction | LoadAction | MergeAction | VerifyAction;
export type StepName = Action["step"];

export interface IdSpan {
  lowest: number | null;
  highest: number | null;
}

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
  estimates: RowEstimates;
  /** The lowest and highest ids (null when empty) of `exam` and `exam_score`, to split the extract. */
  idSpans: { exam: IdSpan; examScore: IdSpan };
  extract: ModeChoice<ExtractMode>;
  load: ModeChoice<LoadMode>;
  /**
   * What would make the run fail for this tenant (a forced mode on a server that lacks it, a
   * missing privilege, with the statement that grants it). `run` refuses a tenant that has any.
   */
  problems: string[];
}

export interface TenantPlan extends TenantFacts {
  actions: Action[];
}

export interface FailedTenantPlan {
  tenant: TenantConfig;
  error: string;
}

export interface Plan {
  runId: string;
  createdAt: string;
  since: string;
  uriRoot: string;
  backup: boolean;
  tenants: TenantPlan[];
  /** Tenants whose preflight failed: nothing will be done for them. */
  failed: FailedTenantPlan[];
}
