/** Columns of `exam_alt_score`, in table order; the staged files carry them in this order. */
export const EXAM_ALT_SCORE_COLUMNS = [
  "id",
  "exam_id",
  "subject_score_id",
  "student_id",
  "asmt_id",
  "school_year",
  "scale_score",
  "performance_level",
  "completed_at",
  "migrate_id",
  "updated",
  "update_import_id",
] as const;

/** The columns MySQL's `OPTIONALLY ENCLOSED BY` quotes (temporal ones); numbers stay bare. */
export const QUOTED_COLUMNS: ReadonlySet<string> = new Set(["completed_at", "updated"]);

/** The unique key of `exam_alt_score` (Redshift does not enforce it; we do). */
export const UNIQUE_KEY = ["school_year", "asmt_id", "student_id", "subject_score_id"] as const;

/** `migrate_id` written for back-filled rows, as the runbook does. */
export const BACKFILL_MIGRATE_ID = -1;

/** Tables and columns each side must have; checked before anything is modified. */
export const REQUIRED_WAREHOUSE_COLUMNS: Record<string, readonly string[]> = {
  subject_score: ["id", "subject_id", "asmt_type_id", "score_type_id"],
  exam: [
    "id",
    "student_id",
    "asmt_id",
    "school_year",
    "scale_score",
    "performance_level",
    "completed_at",
    "updated",
    "update_import_id",
    "deleted",
  ],
  exam_score: ["id", "exam_id", "subject_score_id", "scale_score", "performance_level"],
};

export const REQUIRED_OLAP_COLUMNS: Record<string, readonly string[]> = {
  exam_alt_score: EXAM_ALT_SCORE_COLUMNS,
  exam: ["id", "student_id", "asmt_id", "school_year"],
};
