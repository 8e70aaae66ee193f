import { quoteMysql } from "../src/dialects/mysql.js";
import { quotePg } from "../src/dialects/postgres.js";

/**
 * The parts of RDW's warehouse and OLAP schemas the back-fill touches, as migrate-olap and
 * RDW's schema scripts define them (simplified). Like Redshift, the OLAP `exam_alt_score`
 * gets no enforced unique key here, so duplicates the runbook would load can be seen.
 */
export function warehouseDdl(database: string): string[] {
  const db = quoteMysql(database);
  return [
    `CREATE DATABASE ${db}`,
    `CREATE TABLE ${db}.subject (id TINYINT PRIMARY KEY, code VARCHAR(10) NOT NULL UNIQUE)`,
    `CREATE TABLE ${db}.asmt_type (id TINYINT PRIMARY KEY, code VARCHAR(10) NOT NULL)`,
    `CREATE TABLE ${db}.score_type (id TINYINT PRIMARY KEY, code VARCHAR(10) NOT NULL)`,
    `CREATE TABLE ${db}.subject_score (
       id SMALLINT PRIMARY KEY, subject_id SMALLINT NOT NULL, asmt_type_id TINYINT NOT NULL,
       score_type_id TINYINT NOT NULL, code VARCHAR(10) NOT NULL)`,
    `CREATE TABLE ${db}.exam (
       id BIGINT PRIMARY KEY, type_id TINYINT NOT NULL, school_year SMALLINT NOT NULL, asmt_id INT NOT NULL,
       student_id INT NOT NULL, school_id INT NOT NULL, scale_score FLOAT NULL, performance_level TINYINT NULL,
       completed_at TIMESTAMP(0) NOT NULL DEFAULT CURRENT_TIMESTAMP, update_import_id BIGINT NOT NULL,
       deleted TINYINT NOT NULL DEFAULT 0,
       created TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
       updated TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
       INDEX idx__exam__updated (updated))`,
    `CREATE TABLE ${db}.exam_score (
       id BIGINT PRIMARY KEY, exam_id BIGINT NOT NULL, subject_score_id SMALLINT NOT NULL,
       scale_score FLOAT NULL, scale_score_std_err FLOAT NULL, performance_level TINYINT NULL,
       INDEX idx__exam_score__exam (exam_id))`,
    `INSERT INTO ${db}.subject VALUES (1, 'Math'), (2, 'ELA')`,
    `INSERT INTO ${db}.asmt_type VALUES (1, 'ica'), (2, 'iab'), (3, 'sum')`,
    `INSERT INTO ${db}.score_type VALUES (1, 'overall'), (2, 'alt'), (3, 'claim')`,
  ];
}

export function olapDdl(schema: string): string[] {
  const s = quotePg(schema);
  return [
    `CREATE SCHEMA ${s}`,
    `CREATE TABLE ${s}.subject_score (
       id SMALLINT PRIMARY KEY, subject_id SMALLINT NOT NULL, asmt_type_id SMALLINT NOT NULL,
       score_type_id SMALLINT NOT NULL, code VARCHAR(10) NOT NULL)`,
    `CREATE TABLE ${s}.exam (
       id BIGINT PRIMARY KEY, type_id SMALLINT NOT NULL, student_id BIGINT NOT NULL, asmt_id INT NOT NULL,
       school_year SMALLINT NOT NULL, scale_score FLOAT, performance_level SMALLINT,
       completed_at TIMESTAMPTZ NOT NULL, updated TIMESTAMPTZ NOT NULL, migrate_id BIGINT NOT NULL,
       UNIQUE (school_year, asmt_id, student_id))`,
    `CREATE TABLE ${s}.exam_alt_score (
       id BIGINT NOT NULL, exam_id BIGINT NOT NULL, subject_score_id INT NOT NULL, student_id BIGINT NOT NULL,
       asmt_id INT NOT NULL, school_year SMALLINT NOT NULL, scale_score FLOAT NOT NULL,
       performance_level SMALLINT NOT NULL, completed_at TIMESTAMPTZ NOT NULL, migrate_id BIGINT NOT NULL,
       updated TIMESTAMPTZ NOT NULL, update_import_id BIGINT NOT NULL)`,
  ];
}
