/**
 * Preloaded into a command-line child with `NODE_OPTIONS=--import <this file, built>` (see
 * `redshiftStandInEnv`): the Redshift statement translations of redshift-stand-ins.ts, for the
 * variant in RDW_REDSHIFT_STAND_IN.
 */
import { installClientTranslation, variantFromEnv } from "./redshift-stand-ins.js";

installClientTranslation({ variant: variantFromEnv(process.env), env: process.env });
