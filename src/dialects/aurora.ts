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
  /** The cluster parameters that name the IAM role Aurora writes to S3 with, as set (empty ones left out). */
  roles: Partial<Record<S3RoleParameter, string>>;
}

export type S3RoleParameter = "aurora_select_into_s3_role" | "aws_default_s3_role";

/** What the preflight found: problems (the tenant is refused), what it checked, and what only a write can prove. */
export interface AuroraPreflight {
  problems: string[];
  checked: string[];
  unchecked: string[];
}

/**
 * Aurora MySQL: MySQL plus `SELECT … INTO OUTFILE S3`, with which the cluster writes the rows
 * to S3 itself, and the preflight that checks it may. Versions 2 (MySQL 5.7) and 3 (MySQL 8.0)
 * differ in how the privilege is granted and which parameter names the IAM role ("Saving data
 * from an Amazon Aurora MySQL DB cluster into text files in an Amazon S3 bucket").
 */
export class AuroraDialect extends MysqlDialect {
  override readonly name: string;
  override readonly label: string;
  override readonly capabilities: WarehouseCapabilities;

  constructor(readonly major: 2 | 3) {
    super();
    this.name = `aurora${major}`;
    this.label = `Aurora MySQL ${major}`;
    this.capabilities = { extractsToS3: true, grantedRolesNeedActivation: major === 3 };
  }

  /**
   * On Aurora MySQL 3 the S3 privilege comes with a role (`AWS_SELECT_S3_ACCESS`, or
   * `rds_superuser_role` for the master user), and "you also activate the role by using the SET
   * ROLE role_name or SET ROLE ALL statement … When you reconnect, you have to run the SET ROLE
   * statement again": every session does, unless the cluster activates roles on login.
   */
  override session(options: { readOnly: boolean }): MysqlStatement[] {
    return [
      ...super.session(options),
      ...(this.capabilities.grantedRolesNeedActivation ? [fixed(MYSQL_WIRE, "SET ROLE ALL")] : []),
    ];
  }

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

  /**
   * The parameters naming the IAM role: on version 2 `aurora_select_into_s3_role` takes
   * precedence over `aws_default_s3_role`; on version 3 only `aws_default_s3_role` exists.
   */
  s3RoleParameters(): S3RoleParameter[] {
    return this.major === 2 ? ["aurora_select_into_s3_role", "aws_default_s3_role"] : ["aws_default_s3_role"];
  }

  s3Role(parameter: S3RoleParameter): MysqlStatement {
    return fixed(MYSQL_WIRE, `SELECT @@${parameter} AS role`);
  }

  /**
   * A one-row write under a probe prefix of the run's own: it proves the cluster's IAM role, the
   * privilege, the bucket policy and the network at once.
   */
  probe(s3Target: string): MysqlStatement {
    return fixed(MYSQL_WIRE, [
      "SELECT 1 AS probe",
      `INTO OUTFILE S3 ${locationLiteral(s3Target)}`,
      OUTFILE_FORMAT,
      "OVERWRITE ON",
    ]);
  }

  /** The privilege, the role parameter: what plan can read without writing; the rest is the probe's. */
  s3Preflight(facts: AuroraS3Facts, fallbackUser: string, stagingUri: string): AuroraPreflight {
    const result: AuroraPreflight = { problems: [], checked: [], unchecked: [] };
    const account = (facts.currentUser ?? `${fallbackUser}@%`).replace(/^(.*)@(.*)$/, "'$1'@'$2'");
    const privilege = this.major === 2 ? /SELECT INTO S3/i : /AWS_SELECT_S3_ACCESS/i;
    if (facts.grants.some((grant) => privilege.test(grant))) {
      result.checked.push(
        `${account} has ${this.major === 2 ? "the SELECT INTO S3 privilege" : "the AWS_SELECT_S3_ACCESS role"}`,
      );
    } else if (this.major === 3 && facts.grants.some((grant) => /rds_superuser_role/i.test(grant))) {
      // "The administrative user for a DB cluster is granted the appropriate role or privilege by default."
      result.checked.push(
        `${account} has rds_superuser_role (the master user's role, which includes S3 access)`,
      );
    } else {
      result.problems.push(
        `warehouse user ${account} lacks the S3 privilege for INTO OUTFILE S3; grant it with ` +
          (this.major === 2
            ? `GRANT SELECT INTO S3 ON *.* TO ${account}`
            : `GRANT AWS_SELECT_S3_ACCESS TO ${account} (the tool activates it with SET ROLE ALL)`),
      );
    }
    const [parameter, role] =
      this.s3RoleParameters()
        .map((name) => [name, facts.roles[name]] as const)
        .find(([, value]) => value) ?? [];
    if (parameter && role) {
      result.checked.push(`cluster parameter ${parameter} names the IAM role ${role}`);
    } else {
      const names = this.s3RoleParameters().join(" or ");
      result.problems.push(
        `Aurora cluster parameter ${names} is not set; with an IAM role that may write ${stagingUri}: ` +
          "aws rds add-role-to-db-cluster --db-cluster-identifier <cluster> --role-arn <role arn> and " +
          "aws rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name <group> " +
          `--parameters ParameterName=${this.s3RoleParameters().at(-1)},ParameterValue=<role arn>,ApplyMethod=immediate`,
      );
    }
    result.unchecked.push(
      `whether that role may write ${stagingUri} (its IAM policy, the bucket policy, the network): run writes a one-row probe first`,
    );
    return result;
  }

  /** What to set when the probe fails, from the error Aurora returned. */
  probeFailureHint(message: string, stagingUri: string): string {
    if (/access denied|privilege|1227|1045/i.test(message) && !/s3/i.test(message.replace(/INTO S3/gi, "")))
      return this.major === 2
        ? "grant the privilege: GRANT SELECT INTO S3 ON *.* TO <user>"
        : "grant the role: GRANT AWS_SELECT_S3_ACCESS TO <user> (activated with SET ROLE ALL)";
    if (/credential|role|not authorized|assume/i.test(message))
      return `associate an IAM role with the cluster and set ${this.s3RoleParameters().join(" or ")} to its ARN`;
    if (/Access ?Denied|403|forbidden/i.test(message))
      return `allow the cluster's IAM role s3:PutObject and s3:AbortMultipartUpload on ${stagingUri}* (IAM policy and bucket policy)`;
    if (/timed? ?out|connect|unreachable|network/i.test(message))
      return "let the cluster reach S3: a VPC gateway endpoint for S3 or a NAT gateway, and outbound HTTPS in its security group";
    return `check the S3 privilege, ${this.s3RoleParameters().join(" or ")} and the role's access to ${stagingUri}`;
  }
}

export const AURORA_2 = new AuroraDialect(2);
export const AURORA_3 = new AuroraDialect(3);
