import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { type CliResult, sampleDataset, World } from "./helpers/world.js";

/** The project root: this file runs as dist/test/package.test.js. */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The environment for child npm commands: npm's script variables (`npm_config_local_prefix`,
 * `npm_package_*`, options given to `npm test`) are dropped so that they act on the folder they
 * run in; the cache and configuration files are kept so that `--prefer-offline` finds the cache.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(cache|userconfig|globalconfig|registry|cafile|https?_proxy|proxy|noproxy)$/i;
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!/^npm_/i.test(key) || keep.test(key)) env[key] = value;
  // The installed bin's `#!/usr/bin/env node` finds the node running these tests.
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ""}`;
  return env;
}

/** Runs a command; rejects with a message naming it when it cannot start or times out. */
function exec(
  file: string,
  args: string[],
  options: { cwd: string; timeoutSeconds: number; env?: NodeJS.ProcessEnv },
): Promise<CliResult> {
  const command = `${file} ${args.join(" ")} (in ${options.cwd})`;
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? npmEnv(),
        timeout: options.timeoutSeconds * 1000,
        killSignal: "SIGKILL",
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) resolve({ code: 0, stdout, stderr });
        else if (typeof error.code === "number") resolve({ code: error.code, stdout, stderr });
        else if (error.killed)
          reject(new Error(`${command}: no answer within ${options.timeoutSeconds} s\n${stdout}\n${stderr}`));
        else if (error.signal)
          reject(new Error(`${command}: killed by ${error.signal}\n${stdout}\n${stderr}`));
        else reject(new Error(`${command}: cannot start (${error.message})`));
      },
    );
  });
}

/** Runs a command that must succeed and returns its standard output. */
async function mustRun(
  file: string,
  args: string[],
  options: { cwd: string; timeoutSeconds: number },
): Promise<string> {
  const result = await exec(file, args, options);
  assert.equal(
    result.code,
    0,
    `${file} ${args.join(" ")} (in ${options.cwd}) failed with exit code ${result.code}\n${result.stderr}`,
  );
  return result.stdout;
}

/** The names every package under `modules` (nested ones too) declares as a dependency. */
async function neededByInstalledPackages(modules: string): Promise<Set<string>> {
  const needed = new Set<string>();
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      if (entry.name.startsWith("@")) {
        await visit(path);
        continue;
      }
      const manifest = join(path, "package.json");
      if (existsSync(manifest)) {
        const pkg = JSON.parse(await readFile(manifest, "utf8")) as Record<
          string,
          Record<string, string> | undefined
        >;
        for (const field of ["dependencies", "optionalDependencies", "peerDependencies"])
          for (const name of Object.keys(pkg[field] ?? {})) needed.add(name);
      }
      if (existsSync(join(path, "node_modules"))) await visit(join(path, "node_modules"));
    }
  };
  await visit(modules);
  return needed;
}

describe("the npm package: installed with production dependencies only, the command line works", () => {
  let tmp: string;
  let tarball: string;
  let app: string;
  let bin: string;
  let world: World;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "rdw-backfill-package-"));
    const packed = await mustRun("npm", ["pack", "--json", "--pack-destination", tmp], {
      cwd: ROOT,
      timeoutSeconds: 120,
    });
    const [info] = JSON.parse(packed) as { filename: string }[];
    assert.ok(info, `npm pack printed no tarball:\n${packed}`);
    tarball = join(tmp, info.filename);
    app = join(tmp, "app");
    await mkdir(app);
    await writeFile(
      join(app, "package.json"),
      JSON.stringify({ name: "rdw-backfill-package-test", version: "1.0.0", private: true }, null, 2),
    );
    // An operator's bastion cannot reach the registry: the dependencies are bundled in the
    // tarball, so an offline install with an empty cache must work.
    const emptyCache = join(tmp, "empty-npm-cache");
    await mkdir(emptyCache);
    await mustRun(
      "npm",
      ["install", "--omit=dev", "--no-audit", "--no-fund", "--offline", "--cache", emptyCache, tarball],
      { cwd: app, timeoutSeconds: 300 },
    );
    bin = join(app, "node_modules", ".bin", "rdw-backfill");
    world = await World.create({
      staging: "file",
      tenants: [{ id: "PK", pathPrefix: "pk", dataset: sampleDataset(20, 61) }],
    });
  });

  after(async () => {
    await world?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("the tarball holds the compiled src and nothing of demo, test or bench", async () => {
    const listing = await mustRun("tar", ["-tzf", tarball], { cwd: tmp, timeoutSeconds: 60 });
    const paths = listing.split("\n").filter((line) => line !== "");
    for (const needed of [
      "package/package.json",
      "package/dist/src/cli/main.js",
      "package/dist/src/index.js",
    ])
      assert.ok(paths.includes(needed), `${needed} missing from the tarball`);
    // dist/demo, dist/test, dist/bench, and a dist/src/demo left over from before demo/ moved out.
    const unwanted = paths.filter((path) => /^package\/dist\/(.*\/)?(demo|test|bench)\//.test(path));
    assert.deepEqual(
      unwanted,
      [],
      "demo, test or bench files in the tarball (stale build output? remove dist/)",
    );
    const outside = paths.filter(
      (path) =>
        !path.startsWith("package/dist/src/") &&
        !path.startsWith("package/node_modules/") &&
        !/^package\/(package\.json|README\.md)$/.test(path),
    );
    assert.deepEqual(outside, [], "files outside dist/src and the bundled node_modules in the tarball");
    // The production dependencies travel inside the tarball; no development tool does.
    const project = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    for (const name of Object.keys(project.dependencies))
      assert.ok(paths.includes(`package/node_modules/${name}/package.json`), `${name} is not bundled`);
    for (const name of ["typescript", "s3rver", "eslint"])
      assert.ok(
        !paths.some((path) => path.startsWith(`package/node_modules/${name}/`)),
        `${name} is bundled`,
      );
  });

  it("the bundled dependencies are installed with the package, and no devDependency unless one of them needs it", async () => {
    const project = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const modules = join(app, "node_modules");
    const own = join(modules, "rdw-backfill", "node_modules");
    assert.ok(existsSync(join(modules, "rdw-backfill", "package.json")), "rdw-backfill is not installed");
    const installed = (name: string) => existsSync(join(own, name)) || existsSync(join(modules, name));
    const missing = Object.keys(project.dependencies).filter((name) => !installed(name));
    assert.deepEqual(missing, [], "dependencies not installed");
    for (const name of ["s3rver", "typescript"])
      assert.ok(!installed(name), `devDependency ${name} installed`);
    // mysql2 depends on @types/node, say: a devDependency of ours that another package needs is fine.
    const needed = new Set([...(await neededByInstalledPackages(modules))]);
    const devInstalled = Object.keys(project.devDependencies).filter(
      (name) => installed(name) && !needed.has(name),
    );
    assert.deepEqual(devInstalled, [], "devDependencies installed with --omit=dev");
  });

  it("rdw-backfill --version prints the package's version", async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string };
    const result = await exec(bin, ["--version"], { cwd: app, timeoutSeconds: 60 });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), version);
  });

  it("rdw-backfill --help lists the commands", async () => {
    const result = await exec(bin, ["--help"], { cwd: app, timeoutSeconds: 60 });
    assert.equal(result.code, 0, `rdw-backfill --help: exit code ${result.code}\n${result.stderr}`);
    assert.match(result.stdout, /Usage: rdw-backfill/);
    assert.match(result.stdout, /^\s+plan \[options\]/m);
    assert.match(result.stdout, /^\s+run \[options\]/m);
  });

  it("rdw-backfill plan prints the demo tenant's plan", async () => {
    const env = world.cliEnv();
    env.PATH = `${dirname(process.execPath)}:${env.PATH ?? ""}`;
    const result = await exec(bin, ["plan", "--config", world.configDir, "--no-quiesce"], {
      cwd: app,
      timeoutSeconds: 120,
      env,
    });
    assert.equal(
      result.code,
      0,
      `rdw-backfill plan: exit code ${result.code}\n${result.stderr}\n${result.stdout}`,
    );
    assert.match(result.stdout, /^Tenant PK \(/m);
    assert.match(result.stdout, /^\s+actions:/m);
    assert.doesNotMatch(result.stdout, /PREFLIGHT FAILED/);
  });
});
