/**
 * A synthetic RDW tenant: warehouse exams and scores, the OLAP `exam` table as migrate-olap
 * would have filled it, and the `exam_alt_score` rows migrate-olap already wrote. All
 * timestamps are UTC text `YYYY-MM-DD HH:MM:SS[.ffffff]`.
 */
export interface SubjectScore {
  id: number;
  subjectId: number;
  asmtTypeId: number;
  scoreTypeId: number;
  code: string;
}

export interface Exam {
  id: number;
  typeId: number;
  schoolYear: number;
  asmtId: number;
  studentId: number;
  schoolId: number;
  scaleScore: number | null;
  performanceLevel: number | null;
  completedAt: string;
  updateImportId: number;
  deleted: boolean;
  updated: string;
}

export interface ExamScore {
  id: number;
  examId: number;
  subjectScoreId: number;
  scaleScore: number | null;
  performanceLevel: number | null;
}

/** A row of the OLAP `exam_alt_score` table. */
export interface AltScoreRow {
  id: number;
  examId: number;
  subjectScoreId: number;
  studentId: number;
  asmtId: number;
  schoolYear: number;
  scaleScore: number;
  performanceLevel: number;
  completedAt: string;
  migrateId: number;
  updated: string;
  updateImportId: number;
}

export interface Dataset {
  subjectScores: SubjectScore[];
  exams: Exam[];
  examScores: ExamScore[];
  /** Ids of the warehouse exams present in OLAP `exam`. */
  olapExamIds: number[];
  existingAltRows: AltScoreRow[];
}

/** Claims for each type, and alt scores for summative (19, 20) and ICA math (21), as in a 2.5 deployment. */
export const SUBJECT_SCORES: SubjectScore[] = [
  ...[1, 2, 3].flatMap((asmtTypeId) =>
    [1, 2].flatMap((subjectId) =>
      [1, 2].map((claim) => ({
        id: (asmtTypeId - 1) * 4 + (subjectId - 1) * 2 + claim,
        subjectId,
        asmtTypeId,
        scoreTypeId: 3,
        code: `C${claim}`,
      })),
    ),
  ),
  { id: 19, subjectId: 1, asmtTypeId: 3, scoreTypeId: 2, code: "ALT1" },
  { id: 20, subjectId: 2, asmtTypeId: 3, scoreTypeId: 2, code: "ALT1" },
  { id: 21, subjectId: 1, asmtTypeId: 1, scoreTypeId: 2, code: "ALT1" },
];

/**
 * migrate-olap's rule: per (student, asmt, school year) the exam with the latest completed_at
 * (ties: lowest id) among non-deleted exams whose scale score and performance level are set.
 */
export function latestExamIds(exams: readonly Exam[]): number[] {
  const best = new Map<string, Exam>();
  for (const exam of exams) {
    if (exam.deleted || exam.scaleScore === null || exam.performanceLevel === null) continue;
    if (exam.typeId === 2) continue; // OLAP exam holds ICA and summative only
    const key = `${exam.studentId}/${exam.asmtId}/${exam.schoolYear}`;
    const current = best.get(key);
    if (
      !current ||
      exam.completedAt > current.completedAt ||
      (exam.completedAt === current.completedAt && exam.id < current.id)
    ) {
      best.set(key, exam);
    }
  }
  return [...best.values()].map((exam) => exam.id).sort((a, b) => a - b);
}

/** The row's values in `exam_alt_score` column order; `timestamp` renders the two UTC timestamps. */
export function altScoreValues(row: AltScoreRow, timestamp: (utc: string) => string): (string | number)[] {
  return [
    row.id,
    row.examId,
    row.subjectScoreId,
    row.studentId,
    row.asmtId,
    row.schoolYear,
    row.scaleScore,
    row.performanceLevel,
    timestamp(row.completedAt),
    row.migrateId,
    timestamp(row.updated),
    row.updateImportId,
  ];
}

/** The `exam_alt_score` row a score of an exam becomes (migrate_id as given). */
export function altScoreRow(exam: Exam, score: ExamScore, migrateId: number): AltScoreRow {
  return {
    id: score.id,
    examId: exam.id,
    subjectScoreId: score.subjectScoreId,
    studentId: exam.studentId,
    asmtId: exam.asmtId,
    schoolYear: exam.schoolYear,
    scaleScore: score.scaleScore!,
    performanceLevel: score.performanceLevel!,
    completedAt: exam.completedAt,
    migrateId,
    updated: exam.updated,
    updateImportId: exam.updateImportId,
  };
}
