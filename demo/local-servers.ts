import mysql from "mysql2/promise";
import pg from "pg";
import { quotePg } from "../src/dialects/postgres.js";
import type { ServerLogin } from "./config-writer.js";

export interface LocalServers {
  mysql: ServerLogin;
  pg: ServerLogin;
}

/**
 * The local MariaDB/MySQL and PostgreSQL servers the demo and the tests use. Defaults fit a
 * developer machine (root without password, trust authentication); RDW_DEMO_* variables change them.
 */
export function localServers(env: NodeJS.ProcessEnv = process.env): LocalServers {
  return {
    mysql: {
      host: env.RDW_DEMO_MYSQL_HOST ?? "127.0.0.1",
      port: Number(env.RDW_DEMO_MYSQL_PORT ?? 3306),
      user: env.RDW_DEMO_MYSQL_USER ?? "root",
      password: env.RDW_DEMO_MYSQL_PASSWORD ?? "",
    },
    pg: {
      host: env.RDW_DEMO_PG_HOST ?? "127.0.0.1",
      port: Number(env.RDW_DEMO_PG_PORT ?? 5432),
      user: env.RDW_DEMO_PG_USER ?? "postgres",
      password: env.RDW_DEMO_PG_PASSWORD ?? "",
    },
  };
}

export function openMysql(login: ServerLogin): Promise<mysql.Connection> {
  return mysql.createConnection({ ...login, multipleStatements: false, dateStrings: true });
}

export async function openPg(login: ServerLogin, database: string): Promise<pg.Client> {
  const client = new pg.Client({ ...login, database });
  await client.connect();
  return client;
}

/** Drops (if present) and creates a PostgreSQL database. */
export async function recreatePgDatabase(login: ServerLogin, database: string): Promise<void> {
  const admin = await openPg(login, "postgres");
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quotePg(database)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${quotePg(database)}`);
  } finally {
    await admin.end();
  }
}

export async function dropPgDatabase(login: ServerLogin, database: string): Promise<void> {
  const admin = await openPg(login, "postgres");
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quotePg(database)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** A tenant's OLAP login, whose search_path names its schema as in RDW. */
export async function createTenantRole(client: pg.Client, role: string, schema: string): Promise<void> {
  await client.query(`DROP ROLE IF EXISTS ${quotePg(role)}`);
  await client.query(`CREATE ROLE ${quotePg(role)} LOGIN`);
  await client.query(`GRANT USAGE ON SCHEMA ${quotePg(schema)} TO ${quotePg(role)}`);
  await client.query(`ALTER ROLE ${quotePg(role)} SET search_path = ${quotePg(schema)}`);
}

export async function dropTenantRole(client: pg.Client, role: string): Promise<void> {
  await client.query(`DROP OWNED BY ${quotePg(role)}`).catch(() => undefined);
  await client.query(`DROP ROLE IF EXISTS ${quotePg(role)}`);
}
