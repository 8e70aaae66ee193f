/**
 * Values an engine takes only as literals in the statement text (Aurora's `INTO OUTFILE S3`
 * location, Redshift's COPY source and IAM role): the configuration validated them already;
 * here they are checked once more where the quotes are written, so that no statement is ever
 * built with a quote, backslash or blank inside a literal.
 */
const LOCATION = /^[a-z0-9]+:\/\/[^'"\\\s]+$/;
/** An IAM role ARN, as `migrate.aws.redshift.role` holds it (optionally in the CREDENTIALS form). */
export const IAM_ROLE = /^(aws_iam_role=)?arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_\-/]+$/;

export function locationLiteral(uri: string): string {
  if (!LOCATION.test(uri)) throw new Error(`internal: ${uri} cannot be written as a location literal`);
  return `'${uri}'`;
}

export function roleLiteral(role: string): string {
  // The plan shows a placeholder where no role is configured (the preflight says so).
  if (!IAM_ROLE.test(role) && !/^(aws_iam_role=)?<[a-z .]+>$/.test(role))
    throw new Error(`internal: ${role} cannot be written as an IAM role literal`);
  return `'${role}'`;
}
