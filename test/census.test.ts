import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Dataset, Exam, ExamScore } from "../demo/dataset.js";
import { type Rejection, RejectionTally } from "../src/core/rejections.js";
import { quotePg } from "../src/dialects/postgres.js";
import type { RunReport } from "../src/report/summary.js";
import { RunJournal } from "../src/run/journal.js";
import { sampleDataset, World } from "./helpers/world.js";

const SINCE = "2019-11-01 00:00:00";
const MERGE_REASONS = new Set([
  "duplicate_score_row",
  "olap_exam_differs",
  "superseded_exam",
  "exam_not_in_olap",
]);
/** Added to a student id in OLAP `exam`: no generated student has such an id. */
const OTHER_STUDENT = 50_000_000;

/**
 * The merge's census of the staged rows it does not keep, checked against a classification
 * computed from the generated data alone. The data gets every reason: retakes (superseded), an
 * exam missing from OLAP, an OLAP exam whose student differs, and, where the case says so, twins
 * (a second warehouse score row for one exam and alt score) of a kept exam, of a retake and of
 * the exam whose student differs. Without twins the extract sees none, the keep pass does not look
 * for any, and the census reads its marks only.
 */
const CASES: { name: string; twins: boolean; olap: "postgres" | "redshift-stand-in" }[] = [
  { name: "PostgreSQL, with twins", twins: true, olap: "postgres" },
  { name: "PostgreSQL, without twins", twins: false, olap: "postgres" },
  { name: "Redshift's statements, with twins", twins: true, olap: "redshift-stand-in" },
  { name: "Redshift's statements, without twins", twins: false, olap: "redshift-stand-in" },
];

for (const { name, twins, olap } of CASES) {
  describe(`the merge's census of rows not kept (${name})`, () => {
    let world: World;
    let dataset: Dataset;
    let report: RunReport;
    let changed: { differs: Exam; missing: Exam; twins: ExamScore[] };
    let twinsLoaded: number;
    let twinsSeen: boolean | undefined;

    before(async () => {
      dataset = sampleDataset(120, 41);
      changed = shapeTheData(dataset, twins);
      world = await World.create({
        staging: olap === "postgres" ? "file" : "s3",
        olap,
        tenants: [{ id: "CE", pathPrefix: "ce", dataset }],
      });
      const schema = quotePg(world.tenant("CE").schema);
      await world.withPg((client) =>
        client.query(`UPDATE ${schema}.exam SET student_id = student_id + ${OTHER_STUDENT} WHERE id = $1`, [
          changed.differs.id,
        ]),
      );
      // No verify: the data is made inconsistent with the warehouse on purpose, which verify reports.
      const result = await world.runBackfill(["--json", "--no-verify"]);
      assert.equal(result.code, 0, result.stderr);
      report = JSON.parse(result.stdout) as RunReport;
      twinsLoaded = await world.withPg(async (client) => {
        const { rows } = await client.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${schema}.exam_alt_score WHERE id = ANY ($1::bigint[])`,
          [changed.twins.map((twin) => twin.id)],
        );
        return Number(rows[0]!.n);
      });
      const journal = await RunJournal.load(world.journalDir, report.runId);
      twinsSeen = journal.tenant("CE").results.extract?.twins;
    });
    after(() => world?.destroy());

    it("counts each reason, with the lowest ids as examples, as the data says", () => {
      const [tenant] = report.tenants;
      const census = tenant!.rejected.filter((rejection) => MERGE_REASONS.has(rejection.reason));
      const expected = expectedCensus(dataset, changed.differs);
      assert.deepEqual(
        expected.map((rejection) => rejection.reason),
        [
          ...(twins ? ["duplicate_score_row"] : []),
          "exam_not_in_olap",
          "olap_exam_differs",
          "superseded_exam",
        ],
        "the data has every reason",
      );
      assert.deepEqual(census, expected);
    });

    it(`the extract records that it saw ${twins ? "twins" : "no twins"} (the merge reads that)`, () => {
      assert.equal(twinsSeen, twins);
    });

    if (twins) {
      it("loads none of the twins", () => {
        assert.equal(changed.twins.length, 3);
        assert.equal(twinsLoaded, 0);
      });
    }
  });
}

/** Adds twins (if asked) and takes one exam out of OLAP; names the exam whose OLAP student is to differ. */
function shapeTheData(
  data: Dataset,
  withTwins: boolean,
): { differs: Exam; missing: Exam; twins: ExamScore[] } {
  const inOlap = new Set(data.olapExamIds);
  const eligibleScores = data.examScores.filter((score) => isEligible(data, score));
  const examsWithScores = [...new Set(eligibleScores.map((score) => score.examId))];
  const olapExams = examsWithScores.filter((id) => inOlap.has(id));
  const retake = examsWithScores.find((id) => !inOlap.has(id));
  assert.ok(olapExams.length >= 4 && retake !== undefined, "the sample has OLAP exams and a retake");
  const exam = (id: number) => data.exams.find((candidate) => candidate.id === id)!;
  const [kept, differs, missing] = [exam(olapExams[0]!), exam(olapExams[1]!), exam(olapExams[2]!)];
  data.olapExamIds = data.olapExamIds.filter((id) => id !== missing.id);
  let nextId = Math.max(...data.examScores.map((score) => score.id)) + 1;
  const twins = (withTwins ? [kept.id, retake, differs.id] : []).map((examId) => {
    const original = eligibleScores.find((score) => score.examId === examId)!;
    return { ...original, id: nextId++, scaleScore: original.scaleScore! + 1 };
  });
  data.examScores.push(...twins);
  return { differs, missing, twins };
}

/** A warehouse alt score row the extract stages: its exam is in the window, both are scored. */
function isEligible(data: Dataset, score: ExamScore): boolean {
  const altIds = new Set(
    data.subjectScores.filter((s) => s.scoreTypeId === 2 && s.asmtTypeId !== 2).map((s) => s.id),
  );
  const exam = data.exams.find((candidate) => candidate.id === score.examId)!;
  return (
    altIds.has(score.subjectScoreId) &&
    score.scaleScore !== null &&
    score.performanceLevel !== null &&
    !exam.deleted &&
    exam.updated >= SINCE &&
    exam.scaleScore !== null &&
    exam.performanceLevel !== null
  );
}

/**
 * The reasons by their definitions: the lowest id of an exam's alt score is the one kept, the
 * others are twins; a row's exam is looked up in OLAP by id, then by (student, asmt, year).
 */
function expectedCensus(data: Dataset, differs: Exam): Rejection[] {
  const olapExams = data.exams
    .filter((exam) => data.olapExamIds.includes(exam.id))
    .map((exam) => (exam.id === differs.id ? { ...exam, studentId: exam.studentId + OTHER_STUDENT } : exam));
  const byId = new Map(olapExams.map((exam) => [exam.id, exam]));
  const keyOf = (exam: Exam) => `${exam.studentId}/${exam.asmtId}/${exam.schoolYear}`;
  const keys = new Set(olapExams.map(keyOf));
  const firstIds = new Map<string, number>();
  const scores = data.examScores.filter((score) => isEligible(data, score)).sort((a, b) => a.id - b.id);
  const tally = new RejectionTally();
  for (const score of scores) {
    const twinKey = `${score.examId}/${score.subjectScoreId}`;
    const twin = firstIds.has(twinKey);
    if (!twin) firstIds.set(twinKey, score.id);
    const exam = data.exams.find((candidate) => candidate.id === score.examId)!;
    const olap = byId.get(exam.id);
    const sameKey = olap !== undefined && keyOf(olap) === keyOf(exam);
    if (sameKey && !twin) continue;
    if (sameKey) tally.add("duplicate_score_row", String(score.id));
    else if (olap) tally.add("olap_exam_differs", String(score.id));
    else if (keys.has(keyOf(exam))) tally.add("superseded_exam", String(score.id));
    else tally.add("exam_not_in_olap", String(score.id));
  }
  return tally.list();
}
