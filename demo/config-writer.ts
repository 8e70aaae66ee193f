import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";

export interface ServerLogin {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface ConfigTenant {
  id: string;
  name: string;
  sandbox: boolean;
  pathPrefix?: string;
  warehouseDatabase: string;
  /** The tenant's OLAP user, whose search_path is the tenant schema. */
  olapUser: string;
}

export interface ConfigRepositorySpec {
  uriRoot: string;
  warehouse: ServerLogin;
  olap: ServerLogin & { database: string };
  tenants: ConfigTenant[];
  redshiftRole: string;
  /** Write `rdw-reporting-admin-service.yml` with admin ("root level") logins. */
  adminLogins: boolean;
}

/**
 * Writes an RDW configuration repository as operators keep it, in the mixed spellings real
 * ones have (`uri-root`, `pathPrefix`, `url-parts`), with placeholders for passwords.
 */
export async function writeConfigRepository(dir: string, spec: ConfigRepositorySpec): Promise<void> {
  await mkdir(dir, { recursive: true });
  const write = (path: string, content: unknown) => writeFile(join(dir, path), stringify(content));
  await write("application.yml", {
    archive: { "uri-root": spec.uriRoot },
    datasources: {
      warehouse_rw: { "url-server": `${spec.warehouse.host}:${spec.warehouse.port}` },
      olap_rw: { "url-server": `${spec.olap.host}:${spec.olap.port}`, "url-db": spec.olap.database },
    },
  });
  await write("rdw-ingest-migrate-olap.yml", { migrate: { aws: { redshift: { role: spec.redshiftRole } } } });
  if (spec.adminLogins) {
    await write("rdw-reporting-admin-service.yml", {
      spring: {
        admin_warehouse_datasource: {
          "url-server": "${datasources.warehouse_rw.url-server}",
          username: spec.warehouse.user,
          password: `\${RDW_WAREHOUSE_ADMIN_PASSWORD:${spec.warehouse.password}}`,
        },
        admin_olap_datasource: {
          "url-server": "${datasources.olap_rw.url-server}",
          "url-db": "${datasources.olap_rw.url-db}",
          username: spec.olap.user,
          password: `\${RDW_OLAP_ADMIN_PASSWORD:${spec.olap.password}}`,
        },
      },
    });
  }
  for (const tenant of spec.tenants) {
    await mkdir(join(dir, `tenant-${tenant.id}`), { recursive: true });
    await write(join(`tenant-${tenant.id}`, "application.yml"), {
      tenantProperties: {
        tenants: {
          [tenant.id]: { id: tenant.id, key: tenant.id, name: tenant.name, sandbox: tenant.sandbox },
        },
      },
      archive: tenant.pathPrefix
        ? { tenants: { [tenant.id]: { pathPrefix: tenant.pathPrefix } } }
        : undefined,
      datasources: {
        warehouse_rw: {
          tenants: {
            [tenant.id]: {
              "url-parts": { database: tenant.warehouseDatabase },
              username: spec.warehouse.user,
              password: spec.warehouse.password,
            },
          },
        },
        olap_rw: {
          tenants: { [tenant.id]: { username: tenant.olapUser, password: "${RDW_OLAP_TENANT_PASSWORD:}" } },
        },
      },
    });
  }
}
