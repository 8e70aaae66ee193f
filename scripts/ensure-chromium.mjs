#!/usr/bin/env node
// Part of `npm test`: the HTML-report test opens report.html in Debian's Chromium. On a fresh
// machine of this kind (Debian, the user is root) it is installed with apt when missing, so that
// `npm ci` and `npm test` are all a new checkout needs. Elsewhere it says what to install.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const CHROMIUM = "/usr/bin/chromium";
const APT_TIMEOUT_MS = 20 * 60_000;

// A browser of the operator's own choosing is used as it is (the test reads the same variable).
if (process.env.CHROMIUM_PATH) {
  if (existsSync(process.env.CHROMIUM_PATH)) process.exit(0);
  console.error(`npm test: CHROMIUM_PATH names ${process.env.CHROMIUM_PATH}, which does not exist`);
  process.exit(1);
}
if (existsSync(CHROMIUM)) process.exit(0);

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const hasApt = spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;
if (!isRoot || !hasApt) {
  console.error(
    `npm test: ${CHROMIUM} is missing; install Debian's chromium package (apt-get install chromium) and run npm test again`,
  );
  process.exit(1);
}

function apt(args) {
  console.error(
    `npm test: ${CHROMIUM} is missing; running apt-get ${args.join(" ")} (at most ${APT_TIMEOUT_MS / 60_000} minutes)`,
  );
  const result = spawnSync("apt-get", args, {
    stdio: ["ignore", "ignore", "inherit"],
    timeout: APT_TIMEOUT_MS,
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : `exit code ${result.status}`;
    console.error(`npm test: apt-get ${args[0]} failed while installing Chromium (${why})`);
    process.exit(1);
  }
}

apt(["update", "-qq"]);
apt(["install", "-y", "-qq", "chromium"]);
if (!existsSync(CHROMIUM)) {
  console.error(`npm test: apt-get installed chromium, but ${CHROMIUM} is still missing`);
  process.exit(1);
}
