// dependency-cruiser configuration: the layers of src/ and the rules that hold them.
// Run with `npm run deps` (dependency-cruiser reads an ES module config: export default).

/**
 * THE LAYER ORDER, lowest first. A module may import from its own layer and from
 * layers listed before it, never from a layer listed after it. Folders sharing an
 * entry are on the same level and may not import each other.
 *
 *   core → config → dialects | io → plan → steps → run → report → cli
 *
 * io holds the drivers (io/db), staging (io/staging), deployment (io/deployment)
 * and process-alive; verify's step lives in steps/.
 */
const LAYERS = [
  ["core"], // errors, identifiers, columns, statements, checks, rejections
  ["config"], // settings, properties, repository
  ["dialects", "io"], // SQL per engine | drivers (io/db), staging, deployment, process-alive
  ["plan"], // the actions of a run
  ["steps"], // one module per action, verify's among them
  ["run"], // the runner loop, journal, rollback
  ["report"], // renders journal and results; pure (see report-pure)
  ["cli"], // the command line
];

/**
 * The library entry, above every layer: it may import anything in src/,
 * nothing in src/ may import it.
 */
const ENTRY = "^src/index\\.ts$";

const folderRe = (folders) => `^src/(${folders.join("|")})/`;
const allFolders = LAYERS.flat();

const layerRules = LAYERS.flatMap((level, i) => {
  const higher = LAYERS.slice(i + 1).flat();
  const rules = [];
  if (higher.length > 0) {
    rules.push({
      name: `layer-${level.join("-")}-not-upward`,
      severity: "error",
      comment: `${level.join(" and ")} may not import from a higher layer (${higher.join(", ")}).`,
      from: { path: folderRe(level) },
      to: { path: folderRe(higher) },
    });
  }
  for (const folder of level) {
    const siblings = level.filter((other) => other !== folder);
    if (siblings.length === 0) continue;
    rules.push({
      name: `layer-${folder}-not-to-sibling`,
      severity: "error",
      comment: `${folder} is on the same level as ${siblings.join(", ")}: neither may import the other.`,
      from: { path: folderRe([folder]) },
      to: { path: folderRe(siblings) },
    });
  }
  return rules;
});

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...layerRules,
    {
      name: "not-to-entry",
      severity: "error",
      comment: "src/index.ts is the library entry: nothing in src/ may import it.",
      from: { path: "^src/" },
      to: { path: ENTRY },
    },
    {
      name: "not-in-a-layer",
      severity: "error",
      comment:
        "Every module in src/ belongs to a layer in LAYERS (or is the entry); add a new folder to the order before using it.",
      from: { path: "^src/" },
      to: { path: "^src/", pathNot: [folderRe(allFolders), ENTRY] },
    },
    {
      name: "src-not-to-demo-bench-test",
      severity: "error",
      comment: "The published library (src/) may not depend on demo/, bench/ or test/.",
      from: { path: "^src/" },
      to: { path: "^(demo|bench|test)/" },
    },
    {
      name: "report-pure",
      severity: "error",
      comment:
        "report renders, it does not read databases: no src/io (nor the database/S3 drivers). It may import steps' result types and run's journal types.",
      from: { path: "^src/report/" },
      to: {
        path: ["^src/io/", "(^|/)node_modules/(mysql2|pg|pg-copy-streams|@aws-sdk/[^/]+)/"],
      },
    },
    {
      name: "no-circular",
      severity: "error",
      comment: "No import cycles between modules, type-only imports included.",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-circular-folders",
      severity: "error",
      comment:
        "No import cycles between the folders of src/, e.g. io/db → io/staging → io/db (the layer rules already forbid them between layers). A folder includes its sub-folders, so cli/commands → cli is not a folder cycle; module cycles are no-circular's.",
      scope: "folder",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "An import that does not resolve would escape every rule above.",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "(^|/)node_modules/" },
    // Type-only imports are dependencies too: a type imported upward is still upward.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
  },
};
