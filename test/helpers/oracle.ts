import { altScoreRow, type AltScoreRow, altScoreValues, type Dataset } from "../../demo/dataset.js";

/**
 * The end state the issue specifies, computed from the generated data alone (not from the
 * tool's SQL): for every exam in OLAP `exam` whose warehouse row is not deleted and was updated
 * since the start, one row per eligible alt score with migrate_id -1; existing rows with the
 * same key replaced; every other existing row unchanged.
 */
export function expectedAltScores(data: Dataset, since: string): AltScoreRow[] {
  const inOlap = new Set(data.olapExamIds);
  const exams = new Map(data.exams.map((exam) => [exam.id, exam]));
  const altIds = new Set(
    data.subjectScores.filter((s) => s.scoreTypeId === 2 && s.asmtTypeId !== 2).map((s) => s.id),
  );
  const backfilled = data.examScores
    .filter((score) => altIds.has(score.subjectScoreId) && inOlap.has(score.examId))
    .filter((score) => score.scaleScore !== null && score.performanceLevel !== null)
    .map((score) => ({ score, exam: exams.get(score.examId)! }))
    .filter(
      ({ exam }) =>
        !exam.deleted && exam.updated >= since && exam.scaleScore !== null && exam.performanceLevel !== null,
    )
    .map(({ exam, score }) => altScoreRow(exam, score, -1));
  const keyOf = (row: AltScoreRow) =>
    `${row.schoolYear}/${row.asmtId}/${row.studentId}/${row.subjectScoreId}`;
  const replacedKeys = new Set(backfilled.map(keyOf));
  return [...data.existingAltRows.filter((row) => !replacedKeys.has(keyOf(row))), ...backfilled];
}

/** The same text form `World.altScores` reads from PostgreSQL. */
export function asLines(rows: readonly AltScoreRow[]): string[] {
  const micros = (text: string) => (text.includes(".") ? text : `${text}.000000`);
  return rows.map((row) => altScoreValues(row, micros).join("|")).sort();
}
