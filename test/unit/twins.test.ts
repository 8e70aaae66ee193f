import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TwinWatch } from "../../src/steps/twins.js";

/** A staged line as the extract writes it: id, exam_id, subject_score_id, then the rest. */
const line = (id: number, examId: number | string, scoreId: number | string) =>
  `${id},${examId},${scoreId},100135,20201,2020,2241,2,"2019-09-10 21:43:50.000000",-1,"2019-09-11 21:43:50.586078",25150`;

function watch(lines: readonly string[]): boolean | undefined {
  const twins = new TwinWatch();
  for (const staged of lines) twins.see(staged);
  return twins.twins;
}

describe("the extract's watch for twins (two staged rows for one exam and alt score)", () => {
  it("sees none when every exam has each alt score once, however the exams and scores mix", () => {
    const lines = [];
    for (let exam = 1; exam <= 5_000; exam++)
      for (const score of [20, 21, 22]) lines.push(line(lines.length + 1, exam * 7, score));
    assert.equal(watch(lines.reverse()), false);
  });

  it("finds two rows of one exam and alt score, apart in the stream, in any order of ids", () => {
    const lines = [line(10, 500, 21), line(11, 501, 21), line(12, 500, 22), line(9, 500, 21)];
    assert.equal(watch(lines), true);
  });

  it("tells exams apart that share a bit position on other pages, and keeps the alt scores apart", () => {
    const lines = [line(1, 5, 21), line(2, 5 + 65_536, 21), line(3, 5 + 2 * 65_536, 21), line(4, 5, 22)];
    assert.equal(watch(lines), false);
    assert.equal(watch([...lines, line(5, 5 + 65_536, 21)]), true);
  });

  it("handles exam ids far beyond 32 bits", () => {
    const big = 2 ** 40 + 3;
    assert.equal(watch([line(1, big, 21), line(2, big + 1, 21)]), false);
    assert.equal(watch([line(1, big, 21), line(2, big + 1, 21), line(3, big, 21)]), true);
  });

  it("cannot tell when a field is not a plain whole number, rather than guess", () => {
    assert.equal(watch([line(1, 5, 21), line(2, '"5"', 21)]), undefined);
    assert.equal(watch([line(1, 5, 21), line(2, "", 21)]), undefined);
    assert.equal(watch([line(1, 5, 21), "7"]), undefined);
  });

  it("cannot tell once the exam ids spread past its memory bound (32 MiB of pages)", () => {
    // One exam per page: 4,096 pages fit, the next one does not.
    const lines = Array.from({ length: 4_097 }, (_, page) => line(page + 1, page * 65_536, 21));
    assert.equal(watch(lines.slice(0, 4_096)), false);
    assert.equal(watch(lines), undefined);
  });
});
