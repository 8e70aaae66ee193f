import { hostname } from "node:os";

/**
 * Whether a process recorded as `pid` on `host` may still be running. Only a process on this
 * host can be checked; one elsewhere is assumed alive, since nothing here can prove otherwise.
 */
export function mayBeAlive(host: string, pid: number): boolean {
  if (host !== hostname()) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code !== "ESRCH";
  }
}
