import type { TenantConfig } from "../config/settings.js";

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

export interface ExtractAction {
  step: "extract";
  summary: string;
  /** Streams every candidate row; rows whose alt values are NULL are counted, not staged. */
  query: Statement;
  /** Folder URI (ends with `/`) that only this tenant and run writes to. */
  stagingUri: string;
  /** Object names: `<base>.part_00000`, … and `<base>.manifest`, as Aurora names them. */
  objectBase: string;
  partBytes: number;
}

export interface LoadAction {
  step: "load";
  summary: string;
  createStage: Statement;
  /** `COPY … FROM STDIN`, fed with each part listed in the manifest. */
  copy: Statement;
}

export interface MergeAction {
  step: "merge";
  summary: string;
  /** Keep the staged rows whose exam is the tenant's OLAP exam, one per unique key. */
  selectRows: Statement[];
  /** Staged rows that were not kept, by reason, with up to five example ids each. */
  rejections: Statement;
  /** The single transaction that replaces the affected rows, with the counts checked before COMMIT. */
  transaction: {
    countLive: Statement;
    deleteReplaced: Statement;
    insertRows: Statement;
    countDuplicateKeys: Statement;
  };
}

export interface VerifyAction {
  step: "verify";
  summary: string;
  /** Back-filled rows in the live table equal, column by column, to the rows selected for loading. */
  countMatchingLiveRows: Statement;
  countDuplicateKeys: Statement;
}

export type Action = BackupAction | ExtractAction | LoadAction | MergeAction | VerifyAction;
export type StepName = Action["step"];

export interface RowEstimates {
  /** Exams in the window (`updated >= since`, not deleted), counted on the warehouse's `updated` index. */
  examsInWindow: number;
  /**
   * Alt score rows to expect: exams in the window times the alt scores per (subject, asmt type).
   * An over-estimate, since IAB exams and subjects without alt scores are counted too.
   */
  altScoreRowsApprox: number;
  /** Approximate size of `exam_score`, from the warehouse's table statistics. */
  examScoreRowsApprox: number;
  /** Rows in `exam_alt_score` now. */
  liveRows: number;
}

export interface TenantPlan {
  tenant: TenantConfig;
  olapSchema: string;
  /** How the schema was found: override property, the tenant user's current_schema(), or the naming rule. */
  olapSchemaSource: string;
  altScoreIds: number[];
  altScoreIdsSource: string;
  /** This tenant's and run's staging folder (also in the extract action). */
  stagingUri: string;
  estimates: RowEstimates;
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
