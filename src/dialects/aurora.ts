import { locationLiteral } from "../core/literals.js";
import { fixed, type MysqlStatement, StatementBuilder } from "../core/statement.js";
import { EXTRACT_COLUMNS, LOADABLE, MYSQL_WIRE, MysqlDialect, OUTFILE_FORMAT } from "./mysql.js";
import type { ExtractScope, WarehouseCapabilities } from "./types.js";

/** What the S3 preflight read from the warehouse. */
export interface AuroraS3Facts {
  /** `CURRENT_USER()`, e.g. `rdw@%`. */
  currentUser: string | undefined;
  /** Every line `SHOW GRANTS` printed. */
  grants: string[];
  /** `@@aws_default_s3_role`, when set. */
  defaultS3Role: string | undefined;
}

/**
 * Aurora MySQL: MySQL plus `SELECT … INTO OUTFILE S3`, with which the cluster writes the rows
 * to S3 itself, and the preflight that checks it may.
 */
export class AuroraDialect extends MysqlDialect {
  override readonly name = "aurora";
  override readonly label = "Aurora MySQL";
  override readonly capabilities: WarehouseCapabilities = {
    extractsToS3: true,
  };

  /**
   * Aurora writes the loadable rows to S3 itself, as `<target>.part_00000`, `…part_00001` (about
   * 6 GB each). No manifest: Aurora's has no `"mandatory": true` and writes its URLs in an
   * `s3-<region>://` form, so the tool lists the parts and writes its own for COPY (as RDW's
   * migrate-olap, which uses no MANIFEST either). No window functions or CTEs, so it runs on
   * Aurora MySQL 2 (MySQL 5.7) as well as 3 ("Saving data from an Amazon Aurora MySQL DB cluster
   * into text files in an Amazon S3 bucket").
   */
  override extractToS3(scope: ExtractScope, s3Target: string): MysqlStatement {
    const q = new StatementBuilder(MYSQL_WIRE);
    return q.build([
      ...EXTRACT_COLUMNS,
      ...this.selection(q, scope),
      LOADABLE,
      `INTO OUTFILE S3 ${locationLiteral(s3Target)}`,
      OUTFILE_FORMAT,
      "OVERWRITE ON",
    ]);
  }

  currentUser(): MysqlStatement {
    return fixed(MYSQL_WIRE, "SELECT CURRENT_USER() AS user");
  }

  grants(): MysqlStatement {
    return fixed(MYSQL_WIRE, "SHOW GRANTS");
  }

  defaultS3Role(): MysqlStatement {
    return fixed(MYSQL_WIRE, "SELECT @@aws_default_s3_role AS role");
  }

  /** `INTO OUTFILE S3` needs the privilege and a default S3 role on the cluster. */
  s3Problems(facts: AuroraS3Facts, fallbackUser: string, stagingUri: string): string[] {
    const problems: string[] = [];
    const account = (facts.currentUser ?? `${fallbackUser}@%`).replace(/^(.*)@(.*)$/, "'$1'@'$2'");
    if (!facts.grants.some((grant) => /SELECT INTO S3|AWS_SELECT_S3_ACCESS/i.test(grant))) {
      problems.push(
        `warehouse user ${account} lacks the SELECT INTO S3 privilege; grant it with ` +
          `GRANT SELECT INTO S3 ON *.* TO ${account} (Aurora MySQL 2) or GRANT AWS_SELECT_S3_ACCESS TO ${account} ` +
          `and SET DEFAULT ROLE AWS_SELECT_S3_ACCESS TO ${account} (Aurora MySQL 3)`,
      );
    }
    if (!facts.defaultS3Role) {
      problems.push(
        `Aurora cluster parameter aws_default_s3_role is not set; with an IAM role that may write ${stagingUri}: ` +
          "aws rds add-role-to-db-cluster --db-cluster-identifier <cluster> --role-arn <role arn> and " +
          "aws rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name <group> " +
          "--parameters ParameterName=aws_default_s3_role,ParameterValue=<role arn>,ApplyMethod=immediate",
      );
    }
    return problems;
  }
}

export const AURORA = new AuroraDialect();
