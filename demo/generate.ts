import {
  type AltScoreRow,
  altScoreRow,
  type Dataset,
  type Exam,
  type ExamScore,
  latestExamIds,
  SUBJECT_SCORES,
} from "./dataset.js";

export interface GenerateOptions {
  students: number;
  seed: number;
  /** School years (spring year) to generate, e.g. 2019..2022 around the default start date. */
  schoolYears: number[];
  /** migrate-olap has written `exam_alt_score` for exams updated from this UTC time on. */
  altScoresMigratedFrom: string;
  /** Rows loaded by hand before the start date; a correct back-fill leaves them alone. */
  handLoadedBefore: string;
  /**
   * Only the assessments that have an alt score (no IAB, no ICA ELA): every exam then has one
   * alt score and two claim scores, a lean warehouse where the source join is cheap.
   */
  altScoreAssessmentsOnly?: boolean;
}

export const DEFAULT_GENERATE_OPTIONS: GenerateOptions = {
  students: 2000,
  seed: 42,
  schoolYears: [2019, 2020, 2021, 2022],
  altScoresMigratedFrom: "2021-09-01 00:00:00",
  handLoadedBefore: "2019-11-01 00:00:00",
};

/** ICA math/ELA, summative math/ELA and an IAB per school year; ids encode year and kind. */
const ASSESSMENTS = [
  { offset: 1, typeId: 1, subjectId: 1 },
  { offset: 2, typeId: 1, subjectId: 2 },
  { offset: 3, typeId: 3, subjectId: 1 },
  { offset: 4, typeId: 3, subjectId: 2 },
  { offset: 5, typeId: 2, subjectId: 1 },
];

const hasAltScore = (asmt: { typeId: number; subjectId: number }) =>
  SUBJECT_SCORES.some(
    (score) =>
      score.scoreTypeId === 2 && score.asmtTypeId === asmt.typeId && score.subjectId === asmt.subjectId,
  );

/** A small seeded generator (mulberry32): the same seed gives the same tenant. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY_MS = 86_400_000;

function utcText(ms: number, micros: number | undefined): string {
  const text = new Date(ms).toISOString().replace("T", " ").slice(0, 19);
  return micros === undefined ? text : `${text}.${String(micros).padStart(6, "0")}`;
}

const parseUtc = (text: string) => Date.parse(text.replace(" ", "T") + "Z");

/** One student's part of a tenant: everything the generator decides about them. */
export interface StudentData {
  exams: Exam[];
  examScores: ExamScore[];
  olapExamIds: number[];
  existingAltRows: AltScoreRow[];
}

/**
 * Realistic data for one tenant: ICA, summative and IAB exams over several school years,
 * retakes (some completed at the same second), deleted exams, exams without scores, NULL alt
 * values, exams imported after the last OLAP migration, alt rows already migrated, and a few
 * rows loaded by hand before the start date.
 */
export function generateDataset(options: GenerateOptions): Dataset {
  const data: Dataset = {
    subjectScores: SUBJECT_SCORES,
    exams: [],
    examScores: [],
    olapExamIds: [],
    existingAltRows: [],
  };
  for (const student of generateStudents(options)) {
    data.exams.push(...student.exams);
    data.examScores.push(...student.examScores);
    data.olapExamIds.push(...student.olapExamIds);
    data.existingAltRows.push(...student.existingAltRows);
  }
  return data;
}

/**
 * The same tenant one student at a time, so that millions of rows can be written without
 * holding them (the benchmark). Which exam counts is decided per student, so nothing is lost.
 */
export function* generateStudents(options: GenerateOptions): Generator<StudentData> {
  const next = random(options.seed);
  const chance = (p: number) => next() < p;
  const between = (low: number, high: number) => low + Math.floor(next() * (high - low + 1));
  const migratedFrom = parseUtc(options.altScoresMigratedFrom);
  const handLoadedBefore = parseUtc(options.handLoadedBefore);
  let examId = 1000;
  let scoreId = 50_000;
  const latestUpdate = parseUtc("2022-08-31 00:00:00");

  for (let student = 1; student <= options.students; student++) {
    const exams: Exam[] = [];
    const examScores: ExamScore[] = [];
    const pendingMigration = new Set<number>();
    const studentId = 100_000 + student;
    const schoolId = 10 + (student % 37);
    for (const year of options.schoolYears) {
      const yearStart = parseUtc(`${year - 1}-09-01 00:00:00`);
      for (const asmt of ASSESSMENTS) {
        if (options.altScoreAssessmentsOnly && !hasAltScore(asmt)) continue;
        if (!chance(asmt.typeId === 2 ? 0.5 : 0.8)) continue;
        const attempts = chance(0.12) ? 2 : 1;
        let completed = yearStart + between(0, 280) * DAY_MS + between(0, 86_399) * 1000;
        for (let attempt = 0; attempt < attempts; attempt++) {
          if (attempt > 0 && !chance(0.1)) completed += between(1, 30) * DAY_MS; // else: same second
          const reprocessed = chance(0.15);
          const updated = Math.min(
            latestUpdate,
            reprocessed ? completed + between(200, 900) * DAY_MS : completed + between(0, 20) * DAY_MS,
          );
          const unscored = chance(0.01);
          const exam: Exam = {
            id: examId++,
            typeId: asmt.typeId,
            schoolYear: year,
            asmtId: year * 10 + asmt.offset,
            studentId,
            schoolId,
            scaleScore: unscored ? null : between(2100, 2800),
            performanceLevel: unscored ? null : between(1, 4),
            completedAt: utcText(completed, undefined),
            updateImportId: 7000 + Math.floor(updated / DAY_MS),
            deleted: chance(0.03),
            updated: utcText(updated, between(0, 999_999)),
          };
          exams.push(exam);
          if (chance(0.005)) pendingMigration.add(exam.id);
          for (const subjectScore of SUBJECT_SCORES) {
            if (subjectScore.asmtTypeId !== asmt.typeId || subjectScore.subjectId !== asmt.subjectId)
              continue;
            const alt = subjectScore.scoreTypeId === 2;
            examScores.push({
              id: scoreId++,
              examId: exam.id,
              subjectScoreId: subjectScore.id,
              scaleScore: alt && chance(0.01) ? null : between(2100, 2800) + (chance(0.05) ? 0.5 : 0),
              performanceLevel: alt && chance(0.01) ? null : between(1, alt ? 3 : 4),
            });
          }
        }
      }
    }
    const olapExamIds = latestExamIds(exams.filter((exam) => !pendingMigration.has(exam.id)));
    const inOlap = new Set(olapExamIds);
    const examById = new Map(exams.map((exam) => [exam.id, exam]));
    const existingAltRows = examScores
      .filter((score) => inOlap.has(score.examId) && score.subjectScoreId >= 19)
      .filter((score) => score.scaleScore !== null && score.performanceLevel !== null)
      .flatMap((score) => {
        const exam = examById.get(score.examId)!;
        const updated = parseUtc(exam.updated.slice(0, 19));
        if (updated >= migratedFrom) return [altScoreRow(exam, score, 900 + (score.id % 50))];
        if (updated < handLoadedBefore && score.id % 25 === 0) return [altScoreRow(exam, score, 7)];
        return [];
      });
    yield { exams, examScores, olapExamIds, existingAltRows };
  }
}
