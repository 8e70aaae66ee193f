-- session: warehouse
SET time_zone = '+00:00';

-- session: warehouse
SET SESSION TRANSACTION READ ONLY;

-- session: warehouse
SET SESSION net_write_timeout = 3600;

-- session: warehouse
SET SESSION lock_wait_timeout = 120;

-- session: olap
SET timezone TO 'UTC';

-- session: olap
SET work_mem = '4MB';

-- session: olap
SET jit = off;

-- session: olap
SET enable_nestloop = off;

-- session: olap
SET lock_timeout = '120s';

-- session: olapReader
SET timezone TO 'UTC';

-- session: olapReader
SET work_mem = '4MB';

-- session: olapReader
SET jit = off;

-- session: olapReader
SET enable_nestloop = off;

-- session: olapReader
SET lock_timeout = '120s';

-- session: olapReader
SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;

-- lock: OLAP reader, before migrate-olap is stopped: is there a lock table
SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2;
-- bound values: ["reporting_pa","rdw_backfill_lock"]

-- lock: OLAP reader, before migrate-olap is stopped: who holds the lock (another run's refuses the tenant)
SELECT run_id, host, pid, acquired_at FROM "reporting_pa".rdw_backfill_lock;

-- lock: OLAP
CREATE TABLE IF NOT EXISTS "reporting_pa".rdw_backfill_lock (run_id VARCHAR(64) NOT NULL, host VARCHAR(255) NOT NULL, pid INTEGER NOT NULL, acquired_at TIMESTAMPTZ NOT NULL);

-- lock: OLAP, BEGIN
LOCK TABLE "reporting_pa".rdw_backfill_lock;

-- lock: holders (taken over only if gone, or with --take-over-lock)
SELECT run_id, host, pid, acquired_at FROM "reporting_pa".rdw_backfill_lock;

-- lock: OLAP
DELETE FROM "reporting_pa".rdw_backfill_lock;

-- lock: OLAP, then COMMIT (template)
INSERT INTO "reporting_pa".rdw_backfill_lock (run_id, host, pid, acquired_at) VALUES ($1, $2, $3, $4);
-- bound values: ["<run id>","<host>","<pid>","<now>"]

-- extract: OLAP, before the extract streams
DROP TABLE IF EXISTS "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12";

-- extract: OLAP, before the extract streams
DROP TABLE IF EXISTS "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12";

-- extract: OLAP, before the extract streams
CREATE UNLOGGED TABLE "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12" (LIKE "reporting_pa".exam_alt_score);

-- extract: OLAP, fed as the extract streams
COPY "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12" (id, exam_id, subject_score_id, student_id, asmt_id, school_year, scale_score, performance_level, completed_at, migrate_id, updated, update_import_id) FROM STDIN WITH (FORMAT csv, NULL '\N');

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

-- load: OLAP, when the COPY did not run alongside the extract
DROP TABLE IF EXISTS "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12";

-- load: OLAP, when the COPY did not run alongside the extract
DROP TABLE IF EXISTS "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12";

-- load: OLAP, when the COPY did not run alongside the extract
CREATE UNLOGGED TABLE "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12" (LIKE "reporting_pa".exam_alt_score);

-- load: OLAP, when the COPY did not run alongside the extract: the staged parts in the manifest's order, into one COPY
COPY "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12" (id, exam_id, subject_score_id, student_id, asmt_id, school_year, scale_score, performance_level, completed_at, migrate_id, updated, update_import_id) FROM STDIN WITH (FORMAT csv, NULL '\N');

-- merge: OLAP, BEGIN; for the keep pass only
SET LOCAL parallel_setup_cost = 0;

-- merge: OLAP, BEGIN; for the keep pass only
SET LOCAL parallel_tuple_cost = 0;

-- merge: OLAP, when the extract saw every staged row and no twins among them: mark the staged rows
CREATE UNLOGGED TABLE "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12" AS
SELECT s.id, s.exam_id, s.subject_score_id, s.student_id, s.asmt_id, s.school_year, s.scale_score, s.performance_level, s.completed_at, s.migrate_id, s.updated, s.update_import_id,
  CASE WHEN e.id IS NULL THEN 2 WHEN e.student_id = s.student_id AND e.asmt_id = s.asmt_id AND e.school_year = s.school_year THEN 0 ELSE 1 END AS verdict
  FROM "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12" s LEFT JOIN "reporting_pa".exam e ON e.id = s.exam_id;

-- merge: OLAP, instead, when it saw some or could not tell: mark the staged rows, twins left out
CREATE UNLOGGED TABLE "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12" AS
SELECT s.id, s.exam_id, s.subject_score_id, s.student_id, s.asmt_id, s.school_year, s.scale_score, s.performance_level, s.completed_at, s.migrate_id, s.updated, s.update_import_id,
  CASE WHEN e.id IS NULL THEN 2 WHEN e.student_id = s.student_id AND e.asmt_id = s.asmt_id AND e.school_year = s.school_year THEN 0 ELSE 1 END AS verdict
  FROM "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12" s LEFT JOIN "reporting_pa".exam e ON e.id = s.exam_id
WHERE NOT EXISTS (SELECT 1 FROM "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12" d
  WHERE d.exam_id = s.exam_id AND d.subject_score_id = s.subject_score_id AND d.id < s.id);

-- merge: OLAP, COMMIT; BEGIN; for the statistics only
SET LOCAL default_statistics_target = 10;

-- merge: OLAP, statistics of the marked rows, then COMMIT
ANALYZE "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12";

-- merge: OLAP, only when the keep pass marked fewer rows than were staged (twins): statistics of the staged rows
ANALYZE "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12";

-- merge: OLAP, the second session first
SET max_parallel_workers_per_gather = 0;

-- merge: OLAP, on a second session during the transaction: the rows not kept, by reason
SELECT reason, rejected, id, exam_id FROM (
  SELECT c.reason, c.id, c.exam_id, COUNT(*) OVER (PARTITION BY c.reason) AS rejected,
         ROW_NUMBER() OVER (PARTITION BY c.reason ORDER BY c.id) AS example_rank
  FROM (
    SELECT m.id, m.exam_id, CASE
        WHEN m.verdict = 1 THEN 'olap_exam_differs'
        WHEN latest.id IS NOT NULL THEN 'superseded_exam'
        ELSE 'exam_not_in_olap' END AS reason
    FROM "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12" m
    LEFT JOIN "reporting_pa".exam latest ON latest.student_id + 0 = m.student_id
      AND latest.asmt_id + 0 = m.asmt_id AND latest.school_year + 0 = m.school_year AND m.verdict = 2
    WHERE m.verdict <> 0
  ) c
) r
WHERE example_rank <= 5
ORDER BY reason, id;

-- merge: OLAP, on a second session during the transaction, instead, only when the keep pass marked fewer rows than were staged (twins): the rows not kept, twins included
SELECT reason, rejected, id, exam_id FROM (
  SELECT c.reason, c.id, c.exam_id, COUNT(*) OVER (PARTITION BY c.reason) AS rejected,
         ROW_NUMBER() OVER (PARTITION BY c.reason ORDER BY c.id) AS example_rank
  FROM (
    SELECT m.id, m.exam_id, CASE
        WHEN m.verdict = 1 THEN 'olap_exam_differs'
        WHEN latest.id IS NOT NULL THEN 'superseded_exam'
        ELSE 'exam_not_in_olap' END AS reason
    FROM "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12" m
    LEFT JOIN "reporting_pa".exam latest ON latest.student_id + 0 = m.student_id
      AND latest.asmt_id + 0 = m.asmt_id AND latest.school_year + 0 = m.school_year AND m.verdict = 2
    WHERE m.verdict <> 0
    UNION ALL
    SELECT t.id, t.exam_id, CASE
        WHEN same_id.student_id = t.student_id AND same_id.asmt_id = t.asmt_id
          AND same_id.school_year = t.school_year THEN 'duplicate_score_row'
        WHEN same_id.id IS NOT NULL THEN 'olap_exam_differs'
        WHEN latest.id IS NOT NULL THEN 'superseded_exam'
        ELSE 'exam_not_in_olap' END AS reason
    FROM (
      SELECT s.* FROM "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12" s LEFT JOIN "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12" b ON b.id = s.id WHERE b.id IS NULL
    ) t
    LEFT JOIN "reporting_pa".exam same_id ON same_id.id = t.exam_id
    LEFT JOIN "reporting_pa".exam latest ON latest.student_id + 0 = t.student_id
      AND latest.asmt_id + 0 = t.asmt_id AND latest.school_year + 0 = t.school_year
  ) c
) r
WHERE example_rank <= 5
ORDER BY reason, id;

-- merge: OLAP, on a second session during the transaction: is exam's (school_year, asmt_id, student_id) enforced unique?
SELECT count(*) AS n FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace s ON s.oid = c.relnamespace
WHERE s.nspname = $1 AND c.relname = 'exam'
  AND i.indisunique AND i.indisvalid AND i.indimmediate AND i.indpred IS NULL AND i.indnatts = 3
  AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text) FROM pg_attribute a
       WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey)) = ARRAY['asmt_id', 'school_year', 'student_id'];
-- bound values: ["reporting_pa"]

-- merge: OLAP, on a second session during the transaction, only when it is not: keys held by two kept rows
SELECT count(*) AS n FROM (SELECT school_year, asmt_id, student_id, subject_score_id FROM "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12" WHERE verdict = 0 GROUP BY school_year, asmt_id, student_id, subject_score_id HAVING count(*) > 1) twice;

-- merge: OLAP, on a second session during the transaction: the kept rows' count and checksum
SELECT count(*) AS n, sum(((hashint8extended(t.id, 1) # hashint8extended(t.exam_id, 2) # hashint8extended(t.subject_score_id, 3) # hashint8extended(t.student_id, 4) # hashint8extended(t.asmt_id, 5) # hashint8extended(t.school_year, 6) # hashfloat8extended(t.scale_score, 7) # hashint8extended(t.performance_level, 8) # timestamp_hash_extended(t.completed_at::timestamp, 9) # hashint8extended(t.migrate_id, 10) # timestamp_hash_extended(t.updated::timestamp, 11) # hashint8extended(t.update_import_id, 12)) >> 32)::int) AS checksum FROM "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12" t WHERE t.verdict = 0;

-- merge: BEGIN; for this transaction only
SET LOCAL work_mem = '128MB';

-- merge: count before, per school year, alt score and level
SELECT school_year, subject_score_id, performance_level AS level, count(*) AS n FROM "reporting_pa".exam_alt_score t GROUP BY 1, 2, 3;

-- merge: replace
DELETE FROM "reporting_pa".exam_alt_score USING "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12" b WHERE "reporting_pa".exam_alt_score.school_year = b.school_year AND "reporting_pa".exam_alt_score.asmt_id = b.asmt_id AND "reporting_pa".exam_alt_score.student_id = b.student_id AND "reporting_pa".exam_alt_score.subject_score_id = b.subject_score_id AND b.verdict = 0;

-- merge: count and checksum after the replace
SELECT count(*) AS n, sum(((hashint8extended(t.id, 1) # hashint8extended(t.exam_id, 2) # hashint8extended(t.subject_score_id, 3) # hashint8extended(t.student_id, 4) # hashint8extended(t.asmt_id, 5) # hashint8extended(t.school_year, 6) # hashfloat8extended(t.scale_score, 7) # hashint8extended(t.performance_level, 8) # timestamp_hash_extended(t.completed_at::timestamp, 9) # hashint8extended(t.migrate_id, 10) # timestamp_hash_extended(t.updated::timestamp, 11) # hashint8extended(t.update_import_id, 12)) >> 32)::int) AS checksum FROM "reporting_pa".exam_alt_score t;

-- merge: insert
INSERT INTO "reporting_pa".exam_alt_score (id, exam_id, subject_score_id, student_id, asmt_id, school_year, scale_score, performance_level, completed_at, migrate_id, updated, update_import_id) SELECT id, exam_id, subject_score_id, student_id, asmt_id, school_year, scale_score, performance_level, completed_at, migrate_id, updated, update_import_id FROM "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12" WHERE verdict = 0;

-- merge: count and checksum after the insert, then COMMIT (ROLLBACK unless: no key twice among the kept rows, inserted = kept, count = after the replace + inserted, checksum = after the replace + the kept rows')
SELECT school_year, subject_score_id, performance_level AS level, count(*) AS n, sum(((hashint8extended(t.id, 1) # hashint8extended(t.exam_id, 2) # hashint8extended(t.subject_score_id, 3) # hashint8extended(t.student_id, 4) # hashint8extended(t.asmt_id, 5) # hashint8extended(t.school_year, 6) # hashfloat8extended(t.scale_score, 7) # hashint8extended(t.performance_level, 8) # timestamp_hash_extended(t.completed_at::timestamp, 9) # hashint8extended(t.migrate_id, 10) # timestamp_hash_extended(t.updated::timestamp, 11) # hashint8extended(t.update_import_id, 12)) >> 32)::int) AS checksum FROM "reporting_pa".exam_alt_score t GROUP BY 1, 2, 3;

-- drop-work-tables: OLAP, after COMMIT
DROP TABLE IF EXISTS "reporting_pa"."rdw_backfill_stage_20261124_031500_ab12";

-- drop-work-tables: OLAP, after COMMIT
DROP TABLE IF EXISTS "reporting_pa"."rdw_backfill_rows_20261124_031500_ab12";

-- analyze: OLAP, after COMMIT
ANALYZE "reporting_pa".exam_alt_score;

-- analyze: OLAP, when many rows were replaced
VACUUM "reporting_pa".exam_alt_score;

-- verify: warehouse, first: the largest statement it accepts (it bounds the bitmaps)
SELECT @@max_allowed_packet AS bytes;

-- verify: OLAP, a session of its own, at once
SET max_parallel_workers_per_gather = 0;

-- verify: OLAP, on that session, while the rest runs: keys held twice
SELECT school_year, asmt_id, student_id, subject_score_id, count(*) AS n, min(id) AS first_id, max(id) AS last_id,
       count(*) OVER () AS keys
FROM "reporting_pa".exam_alt_score
GROUP BY school_year, asmt_id, student_id, subject_score_id
HAVING count(*) > 1
ORDER BY min(id)
LIMIT 5;

-- verify: OLAP, meanwhile: the ids of the exams in scope, page by page, into bitmaps (template)
SELECT id FROM "reporting_pa".exam WHERE updated >= $1 AND id > $2 ORDER BY id LIMIT 50000;
-- bound values: ["2019-11-01 00:00:00.000000","<last id>"]

-- verify: warehouse, read-only, the sums of one range of exam_score ids, each on its own session at once, for each bitmap of the OLAP exams in scope (template)
SELECT 0 AS older, we.school_year, we.asmt_id, wes.subject_score_id, wes.performance_level AS level, COUNT(*) AS n,
       SUM(wes.id) AS ids, SUM(CAST(CONV(LEFT(MD5(CONCAT_WS('|', wes.id, CAST(CONCAT(wes.scale_score) AS DECIMAL(20,6)), wes.performance_level, DATE_FORMAT(we.completed_at, '%Y-%m-%d %H:%i:%s.%f'), DATE_FORMAT(we.updated, '%Y-%m-%d %H:%i:%s.%f'))), 8), 16, 10) AS UNSIGNED)) AS checksums, COUNT(*) AS students
FROM `warehouse_pa`.exam_score wes
STRAIGHT_JOIN `warehouse_pa`.exam we ON we.id = wes.exam_id
WHERE we.deleted = 0
  AND we.updated >= ?
  AND we.scale_score IS NOT NULL
  AND we.performance_level IS NOT NULL
  AND wes.subject_score_id IN (?, ?)
  AND wes.scale_score IS NOT NULL AND wes.performance_level IS NOT NULL
  AND wes.id < ?
  AND we.id BETWEEN ? AND ?
  AND ASCII(SUBSTRING(?, (we.id - ?) DIV 8 + 1, 1)) & (1 << ((we.id - ?) % 8)) <> 0
GROUP BY we.school_year, we.asmt_id, wes.subject_score_id, wes.performance_level;
-- bound values: ["2019-11-01 00:00:00.000000",19,20,51500,"<first exam id>","<last exam id>","<the exams from the first to the last, a bit each>","<first exam id>","<first exam id>"]

-- verify: warehouse, read-only, the sums of one range of exam_score ids, each on its own session at once, for each bitmap of the OLAP exams in scope (template)
SELECT 0 AS older, we.school_year, we.asmt_id, wes.subject_score_id, wes.performance_level AS level, COUNT(*) AS n,
       SUM(wes.id) AS ids, SUM(CAST(CONV(LEFT(MD5(CONCAT_WS('|', wes.id, CAST(CONCAT(wes.scale_score) AS DECIMAL(20,6)), wes.performance_level, DATE_FORMAT(we.completed_at, '%Y-%m-%d %H:%i:%s.%f'), DATE_FORMAT(we.updated, '%Y-%m-%d %H:%i:%s.%f'))), 8), 16, 10) AS UNSIGNED)) AS checksums, COUNT(*) AS students
FROM `warehouse_pa`.exam_score wes
STRAIGHT_JOIN `warehouse_pa`.exam we ON we.id = wes.exam_id
WHERE we.deleted = 0
  AND we.updated >= ?
  AND we.scale_score IS NOT NULL
  AND we.performance_level IS NOT NULL
  AND wes.subject_score_id IN (?, ?)
  AND wes.scale_score IS NOT NULL AND wes.performance_level IS NOT NULL
  AND wes.id >= ?
  AND we.id BETWEEN ? AND ?
  AND ASCII(SUBSTRING(?, (we.id - ?) DIV 8 + 1, 1)) & (1 << ((we.id - ?) % 8)) <> 0
GROUP BY we.school_year, we.asmt_id, wes.subject_score_id, wes.performance_level;
-- bound values: ["2019-11-01 00:00:00.000000",19,20,51500,"<first exam id>","<last exam id>","<the exams from the first to the last, a bit each>","<first exam id>","<first exam id>"]

-- verify: OLAP, at the same time as the warehouse
SELECT r.school_year, r.asmt_id, r.subject_score_id, r.performance_level AS level,
       sum(r.in_scope) AS n, sum(CASE WHEN r.in_scope = 1 THEN r.id END) AS ids,
       sum(CASE WHEN r.in_scope = 1 THEN ('x' || LEFT(MD5(CAST(r.id AS VARCHAR) || '|' || CAST(CAST(r.scale_score AS DECIMAL(20,6)) AS VARCHAR) || '|' || CAST(r.performance_level AS VARCHAR) || '|' || TO_CHAR(r.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '|' || TO_CHAR(r.updated AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')), 8))::bit(32)::bigint END) AS checksums,
       sum(r.orphan) AS orphans
FROM (
  SELECT t.*,
    CASE WHEN e.updated >= $1 AND t.subject_score_id IN ($2, $3) THEN 1 ELSE 0 END AS in_scope,
    CASE WHEN e.id IS NULL THEN 1 ELSE 0 END AS orphan
  FROM "reporting_pa".exam_alt_score t
  LEFT JOIN "reporting_pa".exam e ON e.id = t.exam_id AND e.student_id = t.student_id AND e.asmt_id = t.asmt_id AND e.school_year = t.school_year
) r
GROUP BY r.school_year, r.asmt_id, r.subject_score_id, r.performance_level;
-- bound values: ["2019-11-01 00:00:00.000000",19,20]

-- verify: OLAP, only when the cells count orphans: examples
SELECT t.id, count(*) OVER () AS orphans
FROM "reporting_pa".exam_alt_score t
LEFT JOIN "reporting_pa".exam e ON e.id = t.exam_id AND e.student_id = t.student_id AND e.asmt_id = t.asmt_id AND e.school_year = t.school_year
WHERE e.id IS NULL
ORDER BY t.id
LIMIT 5;

-- verify: warehouse, for each group that differs (template)
SELECT we.id AS exam_id, wes.id, CAST(CONV(LEFT(MD5(CONCAT_WS('|', wes.id, CAST(CONCAT(wes.scale_score) AS DECIMAL(20,6)), wes.performance_level, DATE_FORMAT(we.completed_at, '%Y-%m-%d %H:%i:%s.%f'), DATE_FORMAT(we.updated, '%Y-%m-%d %H:%i:%s.%f'))), 8), 16, 10) AS UNSIGNED) AS checksum
FROM `warehouse_pa`.exam we
JOIN `warehouse_pa`.exam_score wes ON wes.exam_id = we.id
WHERE we.deleted = 0
  AND we.updated >= ?
  AND we.scale_score IS NOT NULL
  AND we.performance_level IS NOT NULL
  AND wes.subject_score_id IN (?, ?)
  AND wes.scale_score IS NOT NULL AND wes.performance_level IS NOT NULL
  AND we.school_year = ? AND we.asmt_id = ? AND wes.subject_score_id = ?;
-- bound values: ["2019-11-01 00:00:00.000000",19,20,"<school year>","<asmt id>","<alt score id>"]

-- verify: OLAP, for each group that differs (template)
SELECT t.id, t.exam_id, ('x' || LEFT(MD5(CAST(t.id AS VARCHAR) || '|' || CAST(CAST(t.scale_score AS DECIMAL(20,6)) AS VARCHAR) || '|' || CAST(t.performance_level AS VARCHAR) || '|' || TO_CHAR(t.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '|' || TO_CHAR(t.updated AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')), 8))::bit(32)::bigint AS checksum
FROM "reporting_pa".exam_alt_score t
JOIN "reporting_pa".exam e ON e.id = t.exam_id AND e.student_id = t.student_id AND e.asmt_id = t.asmt_id AND e.school_year = t.school_year
WHERE e.updated >= $1 AND t.subject_score_id IN ($2, $3)
  AND t.school_year = $4 AND t.asmt_id = $5 AND t.subject_score_id = $6;
-- bound values: ["2019-11-01 00:00:00.000000",19,20,"<school year>","<asmt id>","<alt score id>"]

-- verify: OLAP, the group's exams in scope (template)
SELECT id FROM "reporting_pa".exam WHERE updated >= $1 AND school_year = $2 AND asmt_id = $3;
-- bound values: ["2019-11-01 00:00:00.000000","<school year>","<asmt id>"]

-- unlock: OLAP, also after a failure (template)
DELETE FROM "reporting_pa".rdw_backfill_lock WHERE run_id = $1;
-- bound values: ["<run id>"]
