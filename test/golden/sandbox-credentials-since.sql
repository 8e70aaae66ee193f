-- extract: warehouse (Aurora writes the parts and the manifest to S3)
SELECT wes.id, wes.exam_id, wes.subject_score_id, we.student_id, we.asmt_id, we.school_year,
       wes.scale_score, wes.performance_level, we.completed_at, -1 AS migrate_id, we.updated, we.update_import_id
FROM `warehouse_ts_s001`.exam we
JOIN `warehouse_ts_s001`.exam_score wes ON wes.exam_id = we.id
WHERE we.deleted = 0
  AND we.updated >= ?
  AND we.scale_score IS NOT NULL
  AND we.performance_level IS NOT NULL
  AND wes.subject_score_id IN (?)
  AND wes.scale_score IS NOT NULL AND wes.performance_level IS NOT NULL
INTO OUTFILE S3 's3://rdw-qa-archive/MigrateAdHoc/exam_alt_score/20261124_031500_ab12/TS_S001/exam_alt_score'
FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY '\n'
MANIFEST ON
OVERWRITE ON;
-- bound values: ["2020-07-01 12:30:00.000000",21]

-- extract: warehouse, rows left out because an alt value is NULL
SELECT IF(wes.scale_score IS NULL, 'null_scale_score', 'null_performance_level') AS reason,
       COUNT(*) AS rejected,
       SUBSTRING_INDEX(GROUP_CONCAT(wes.id ORDER BY wes.id SEPARATOR ','), ',', ?) AS example_ids
FROM `warehouse_ts_s001`.exam we
JOIN `warehouse_ts_s001`.exam_score wes ON wes.exam_id = we.id
WHERE we.deleted = 0
  AND we.updated >= ?
  AND we.scale_score IS NOT NULL
  AND we.performance_level IS NOT NULL
  AND wes.subject_score_id IN (?)
  AND (wes.scale_score IS NULL OR wes.performance_level IS NULL)
GROUP BY reason
ORDER BY reason;
-- bound values: [5,"2020-07-01 12:30:00.000000",21]

-- load: OLAP
CREATE TEMP TABLE backfill_stage (LIKE "reporting_ts_s001".exam_alt_score);

-- load: Redshift reads the parts from S3
COPY backfill_stage (id, exam_id, subject_score_id, student_id, asmt_id, school_year, scale_score, performance_level, completed_at, migrate_id, updated, update_import_id)
FROM 's3://rdw-qa-archive/MigrateAdHoc/exam_alt_score/20261124_031500_ab12/TS_S001/exam_alt_score.manifest'
CREDENTIALS 'aws_iam_role=arn:aws:iam::123456789012:role/rdw-redshift'
FORMAT AS CSV
NULL AS '\\N'
TIMEFORMAT 'auto'
MANIFEST
COMPUPDATE OFF
STATUPDATE OFF
MAXERROR 0;

-- load: rows loaded
SELECT pg_last_copy_count() AS n;

-- load: only if COPY fails: the rows it rejected
SELECT line_number, trim(colname) AS colname, trim(err_reason) AS err_reason, trim(raw_field_value) AS raw_field_value FROM stl_load_errors WHERE query = pg_last_copy_id() ORDER BY line_number LIMIT $1;
-- bound values: [20]
