-- extract: warehouse, exam_score id range 1 of 2 (read in parallel), streamed to s3://rdw-qa-archive/pa/MigrateAdHoc/exam_alt_score/20261124_031500_ab12/exam_alt_score.part_NNNNN
SELECT CONCAT(wes.id, ',', wes.exam_id, ',', wes.subject_score_id, ',', we.student_id, ',', we.asmt_id, ',', we.school_year, ',', wes.scale_score, ',', wes.performance_level, ',"', we.completed_at, '",', -1, ',"', we.updated, '",', we.update_import_id) AS line,
       CASE WHEN wes.scale_score IS NULL THEN 'null_scale_score' WHEN wes.performance_level IS NULL THEN 'null_performance_level' END AS rejected,
       wes.id
FROM `warehouse_pa`.exam_score wes
STRAIGHT_JOIN `warehouse_pa`.exam we ON we.id = wes.exam_id
WHERE we.deleted = 0
  AND we.updated >= ?
  AND we.scale_score IS NOT NULL
  AND we.performance_level IS NOT NULL
  AND wes.subject_score_id IN (?, ?)
  AND wes.id < ?;
-- bound values: ["2019-11-01 00:00:00.000000",19,20,51500]

-- extract: warehouse, exam_score id range 2 of 2 (read in parallel), streamed to s3://rdw-qa-archive/pa/MigrateAdHoc/exam_alt_score/20261124_031500_ab12/exam_alt_score.part_NNNNN
SELECT CONCAT(wes.id, ',', wes.exam_id, ',', wes.subject_score_id, ',', we.student_id, ',', we.asmt_id, ',', we.school_year, ',', wes.scale_score, ',', wes.performance_level, ',"', we.completed_at, '",', -1, ',"', we.updated, '",', we.update_import_id) AS line,
       CASE WHEN wes.scale_score IS NULL THEN 'null_scale_score' WHEN wes.performance_level IS NULL THEN 'null_performance_level' END AS rejected,
       wes.id
FROM `warehouse_pa`.exam_score wes
STRAIGHT_JOIN `warehouse_pa`.exam we ON we.id = wes.exam_id
WHERE we.deleted = 0
  AND we.updated >= ?
  AND we.scale_score IS NOT NULL
  AND we.performance_level IS NOT NULL
  AND wes.subject_score_id IN (?, ?)
  AND wes.id >= ?;
-- bound values: ["2019-11-01 00:00:00.000000",19,20,51500]

-- load: OLAP session
SET work_mem = '128MB';

-- load: OLAP, left by an interrupted attempt
DROP TABLE IF EXISTS "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12";

-- load: OLAP, left by an interrupted attempt
DROP TABLE IF EXISTS "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12";

-- load: OLAP
CREATE UNLOGGED TABLE "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12" (LIKE "reporting_pa".exam_alt_score);

-- load: OLAP, fed as the extract streams (after an interruption: once per staged part)
COPY "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12" (id, exam_id, subject_score_id, student_id, asmt_id, school_year, scale_score, performance_level, completed_at, migrate_id, updated, update_import_id) FROM STDIN WITH (FORMAT csv, NULL '\N');

-- merge: OLAP
CREATE UNLOGGED TABLE "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12" AS
SELECT s.id, s.exam_id, s.subject_score_id, s.student_id, s.asmt_id, s.school_year, s.scale_score, s.performance_level, s.completed_at, s.migrate_id, s.updated, s.update_import_id
  FROM "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12" s
  JOIN "reporting_pa".exam e ON e.id = s.exam_id AND e.student_id = s.student_id
    AND e.asmt_id = s.asmt_id AND e.school_year = s.school_year
WHERE NOT EXISTS (SELECT 1 FROM "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12" d
  WHERE d.exam_id = s.exam_id AND d.subject_score_id = s.subject_score_id AND d.id < s.id);

-- merge: OLAP, rows not kept, by reason (on a second session, during the transaction)
SELECT reason, rejected, id, exam_id FROM (
  SELECT c.reason, c.id, c.exam_id, COUNT(*) OVER (PARTITION BY c.reason) AS rejected,
         ROW_NUMBER() OVER (PARTITION BY c.reason ORDER BY c.id) AS example_rank
  FROM (
    SELECT s.id, s.exam_id, CASE
        WHEN same_id.student_id = s.student_id AND same_id.asmt_id = s.asmt_id
          AND same_id.school_year = s.school_year THEN 'duplicate_score_row'
        WHEN same_id.id IS NOT NULL THEN 'olap_exam_differs'
        WHEN latest.id IS NOT NULL THEN 'superseded_exam'
        ELSE 'exam_not_in_olap' END AS reason
    FROM (
      SELECT s.* FROM "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12" s LEFT JOIN "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12" b ON b.id = s.id WHERE b.id IS NULL
    ) s
    LEFT JOIN "reporting_pa".exam same_id ON same_id.id = s.exam_id
    LEFT JOIN "reporting_pa".exam latest ON latest.student_id = s.student_id
      AND latest.asmt_id = s.asmt_id AND latest.school_year = s.school_year
  ) c
) r
WHERE example_rank <= $1
ORDER BY reason, id;
-- bound values: [5]

-- merge: BEGIN; count before
SELECT count(*) AS n FROM "reporting_pa".exam_alt_score;

-- merge: replace
DELETE FROM "reporting_pa".exam_alt_score USING "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12" b WHERE "reporting_pa".exam_alt_score.school_year = b.school_year AND "reporting_pa".exam_alt_score.asmt_id = b.asmt_id AND "reporting_pa".exam_alt_score.student_id = b.student_id AND "reporting_pa".exam_alt_score.subject_score_id = b.subject_score_id;

-- merge: insert
INSERT INTO "reporting_pa".exam_alt_score (id, exam_id, subject_score_id, student_id, asmt_id, school_year, scale_score, performance_level, completed_at, migrate_id, updated, update_import_id) SELECT id, exam_id, subject_score_id, student_id, asmt_id, school_year, scale_score, performance_level, completed_at, migrate_id, updated, update_import_id FROM "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12";

-- merge: count after
SELECT count(*) AS n FROM "reporting_pa".exam_alt_score;

-- merge: check, then COMMIT (ROLLBACK if any count is off)
SELECT count(*) AS key_matches, count(CASE WHEN t.id = b.id AND t.exam_id = b.exam_id AND t.subject_score_id = b.subject_score_id AND t.student_id = b.student_id AND t.asmt_id = b.asmt_id AND t.school_year = b.school_year AND t.scale_score = b.scale_score AND t.performance_level = b.performance_level AND t.completed_at = b.completed_at AND t.migrate_id = b.migrate_id AND t.updated = b.updated AND t.update_import_id = b.update_import_id THEN 1 END) AS equal_rows FROM "reporting_pa".exam_alt_score t JOIN "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12" b ON t.school_year = b.school_year AND t.asmt_id = b.asmt_id AND t.student_id = b.student_id AND t.subject_score_id = b.subject_score_id;

-- merge: after COMMIT
DROP TABLE IF EXISTS "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12";

-- merge: after COMMIT
DROP TABLE IF EXISTS "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12";
