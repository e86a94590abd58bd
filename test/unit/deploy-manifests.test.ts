/**
 * docker-compose.yml and deploy/k8s/*.yaml agree with the code: every command they run is a
 * real command of dist/ with real flags (read from its --help), ports and health checks are the
 * code's (8000, /health), and the images named are the ones the Dockerfiles build.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ClusterConfigSchema } from '../../src/config.js';
import { isValidTableName } from '../../src/protocol/subjects.js';
import { SAMPLE_TABLES } from '../../src/tools/sample-data.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PORT = 8000;
const HEALTH_PATH = '/health';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is untyped
type Yaml = any;

/** A command's flags, from its --help: name → whether it takes a value. */
function flagsOf(script: string, subcommand?: string): Map<string, boolean> {
  const help = execFileSync(
    process.execPath,
    [join(ROOT, script), ...(subcommand ? [subcommand] : []), '--help'],
    {
      encoding: 'utf8',
    },
  );
  const flags = new Map<string, boolean>();
  for (const match of help.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)( <[^>]+>)?/gm)) {
    flags.set(match[1], match[2] !== undefined);
  }
  return flags;
}

const CLI_COMMANDS = ['serve', 'coordinator', 'scan', 'demo'];
const flagCache = new Map<string, Map<string, boolean>>();
function cachedFlags(script: string, subcommand?: string): Map<string, boolean> {
  const key = `${script} ${subcommand ?? ''}`;
  if (!flagCache.has(key)) flagCache.set(key, flagsOf(script, subcommand));
  return flagCache.get(key)!;
}

interface Invocation {
  /** dist/… script run by node. */
  script: string;
  subcommand?: string;
  flags: Map<string, string | true>;
  positionals: string[];
}

/**
 * Checks `argv` (entrypoint + command, as the container runs them) against the real CLI and
 * returns what it runs.
 */
function checkInvocation(argv: string[]): Invocation {
  expect(argv[0], argv.join(' ')).toBe('node');
  const rest = argv.slice(1).filter((a) => a !== '--openssl-legacy-provider');
  const appScript = rest.shift()!;
  expect(appScript).toMatch(/^\/app\/dist\/.+\.js$/);
  const script = appScript.replace(/^\/app\//, '');
  expect(existsSync(join(ROOT, script)), `${script} is built from src/`).toBe(true);
  let subcommand: string | undefined;
  if (script === 'dist/cli.js') {
    subcommand = rest.shift();
    expect(CLI_COMMANDS).toContain(subcommand);
  }
  const known = cachedFlags(script, subcommand);
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    expect([...known.keys()], `${script} ${subcommand ?? ''} has ${arg}`).toContain(arg);
    if (known.get(arg)) {
      expect(rest[i + 1], `${arg} needs a value`).toBeDefined();
      flags.set(arg, rest[++i]);
    } else flags.set(arg, true);
  }
  return { script, subcommand, flags, positionals };
}

/** Image name → the argv prefix its ENTRYPOINT runs, from the Dockerfiles. */
function imagesFromDockerfiles(): Map<string, string[]> {
  const images = new Map<string, string[]>();
  for (const file of ['Dockerfile', 'Dockerfile.distributed']) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const title = /LABEL org\.opencontainers\.image\.title="([^"]+)"/.exec(text)?.[1];
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(text)![1]) as string[];
    expect(title, `${file} names its image`).toBeDefined();
    expect(text).toMatch(new RegExp(`^EXPOSE ${PORT}$`, 'm'));
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^HEALTHCHECK .*"node", "\/app\/dist\/tools\/healthcheck\.js"/m);
    images.set(title!, resolveEntrypoint(text, entrypoint));
  }
  return images;
}

/** A `/bin/sh <script>` entrypoint is followed to the script's `exec node …` line. */
function resolveEntrypoint(dockerfile: string, entrypoint: string[]): string[] {
  if (entrypoint[0] !== '/bin/sh') return entrypoint;
  const copy = new RegExp(`^COPY (\\S+) ${entrypoint[1].replaceAll('.', '\\.')}$`, 'm').exec(dockerfile);
  expect(copy, `the Dockerfile copies ${entrypoint[1]}`).not.toBeNull();
  const script = readFileSync(join(ROOT, copy![1]), 'utf8');
  const exec = /^exec (node .*) "\$@"$/m.exec(script);
  expect(exec, `${copy![1]} ends with exec node … "$@"`).not.toBeNull();
  return exec![1].split(' ');
}

/** deploy/nats/permissions.conf: its users and the environment variable holding each password. */
const PERMISSIONS = readFileSync(join(ROOT, 'deploy', 'nats', 'permissions.conf'), 'utf8');
const natsUsers = new Map(
  [...PERMISSIONS.matchAll(/\{ user: (\w+), password: \$(\w+),/g)].map((m) => [m[1], m[2]] as const),
);
const passwordEnv = Object.fromEntries([...natsUsers.values()].map((v) => [v, 'test-password']));
/** The NATS user of a sample table's containers, and its password variable. */
function tableUser(table: string): { user: string; variable: string } {
  const user = `serve_${table}`;
  expect(natsUsers.get(user), `deploy/nats/permissions.conf has user ${user}`).toBe(
    `NATS_SERVE_${table.toUpperCase()}_PASSWORD`,
  );
  expect(PERMISSIONS).toContain(`subscribe: { allow: ["duckdb.${table}.>"`);
  return { user, variable: natsUsers.get(user)! };
}

const images = imagesFromDockerfiles();
const healthcheckScript = 'dist/tools/healthcheck.js';

describe('Dockerfiles', () => {
  it('build the two images the docs name, running the CLI commands', () => {
    expect([...images.keys()].sort()).toEqual(['duckdb-distributed-query', 'duckdb-s3-query']);
    expect(checkInvocation(images.get('duckdb-s3-query')!).subcommand).toBe('serve');
    expect(checkInvocation(images.get('duckdb-distributed-query')!).subcommand).toBe('coordinator');
    expect(existsSync(join(ROOT, healthcheckScript))).toBe(true);
  });

  it('the healthcheck script checks the code port and path', () => {
    const source = readFileSync(join(ROOT, 'src/tools/healthcheck.ts'), 'utf8');
    expect(source).toContain(`http://127.0.0.1:${PORT}${HEALTH_PATH}`);
  });
});

describe('docker-compose.yml', () => {
  const compose: Yaml = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
  const services: Record<string, Yaml> = compose.services;
  const ours = Object.entries(services).filter(([, s]) => images.has(s.image));

  it('names only images the Dockerfiles build, each built from its Dockerfile', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.image.startsWith('nats:') || service.image.startsWith('minio/minio:')) continue;
      expect(images.has(service.image), `${name}: ${service.image}`).toBe(true);
      const dockerfile = readFileSync(join(ROOT, service.build.context, service.build.dockerfile), 'utf8');
      expect(dockerfile).toContain(`org.opencontainers.image.title="${service.image}"`);
    }
  });

  it('runs real commands with real flags', () => {
    for (const [name, service] of ours) {
      const entry: string[] = service.entrypoint ?? images.get(service.image)!;
      const run = checkInvocation([...entry, ...(service.command ?? [])]);
      if (run.subcommand === 'serve') {
        const table = run.flags.get('--table-name') as string;
        expect(isValidTableName(table), name).toBe(true);
        expect(run.positionals, name).toEqual([`s3://sample-data/${table}.csv.gz`]);
        // Logged in as the table's own NATS user (the password stays out of the command line).
        expect(run.flags.has('--nats'), name).toBe(false);
        const { user, variable } = tableUser(table);
        expect(service.environment.NATS_URL).toMatch(
          new RegExp(`^nats://${user}:\\$\\{${variable}(:-[\\w-]+)?\\}@nats:4222$`),
        );
      }
    }
    expect(services.coordinator.environment.NATS_URL).toMatch(
      /^nats:\/\/coordinator:\$\{NATS_COORDINATOR_PASSWORD(:-[\w-]+)?\}@nats:4222$/,
    );
  });

  it('runs NATS with deploy/nats/permissions.conf and a password for every user', () => {
    const nats = services.nats;
    expect(nats.command.join(' ')).toContain('--config /etc/nats/nats.conf');
    expect(nats.volumes).toEqual(
      expect.arrayContaining([
        './deploy/nats/single.conf:/etc/nats/nats.conf:ro',
        './deploy/nats/permissions.conf:/etc/nats/permissions.conf:ro',
      ]),
    );
    expect(Object.keys(nats.environment).sort()).toEqual([...natsUsers.values()].sort());
  });

  it('serves every sample table, and the coordinator, on container port 8000 with /health checks', () => {
    const served = ours.filter(([, s]) => !s.entrypoint);
    const tables = served
      .map(([, s]) => checkInvocation([...images.get(s.image)!, ...(s.command ?? [])]))
      .filter((run) => run.subcommand === 'serve')
      .map((run) => run.flags.get('--table-name'));
    expect(tables.sort()).toEqual([...SAMPLE_TABLES].sort());
    for (const [name, service] of served) {
      expect(service.command ?? [], name).not.toContain('--port');
      expect(
        service.ports.map((p: string) => p.split(':')[1]),
        name,
      ).toEqual([String(PORT)]);
      expect(service.healthcheck.test, name).toEqual(['CMD', 'node', `/app/${healthcheckScript}`]);
      expect(service.environment?.HEALTHCHECK_URL, name).toBeUndefined();
    }
    expect(services.coordinator.ports).toEqual([`${PORT}:${PORT}`]);
  });

  it('the sample data goes to MinIO, with the credentials the data containers use', () => {
    expect(services.s3.image).toMatch(/^minio\/minio:/);
    const port = services.s3.command[services.s3.command.indexOf('--address') + 1].replace(':', '');
    expect(services.s3.ports).toContain(`${port}:${port}`);
    expect(services.s3.healthcheck.test).toEqual(['CMD', 'mc', 'ready', 'local']);
    const job = checkInvocation([...services['sample-data'].entrypoint, ...services['sample-data'].command]);
    expect(job.flags.get('--s3-endpoint')).toBe(`http://s3:${port}`);
    expect(job.flags.get('--upload')).toBe('s3://sample-data');
    for (const name of ['sample-data', ...SAMPLE_TABLES]) {
      expect(services[name].environment.AWS_ACCESS_KEY_ID, name).toBe(
        services.s3.environment.MINIO_ROOT_USER,
      );
      expect(services[name].environment.AWS_SECRET_ACCESS_KEY, name).toBe(
        services.s3.environment.MINIO_ROOT_PASSWORD,
      );
    }
  });

  it('starts in order: data after NATS and the upload, the coordinator after the tables', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, condition] of Object.entries(service.depends_on ?? {}) as [string, Yaml][]) {
        expect(services[dependency], `${name} depends on ${dependency}`).toBeDefined();
        const expected = dependency === 'sample-data' ? 'service_completed_successfully' : 'service_healthy';
        expect(condition.condition, `${name} → ${dependency}`).toBe(expected);
        if (expected === 'service_healthy') expect(services[dependency].healthcheck).toBeDefined();
      }
    }
    for (const table of SAMPLE_TABLES) {
      expect(Object.keys(services[table].depends_on).sort()).toEqual(['nats', 'sample-data']);
    }
    expect(Object.keys(services.coordinator.depends_on).sort()).toEqual([...SAMPLE_TABLES].sort());
    expect(services.nats.command.join(' ')).toContain('--http_port 8222');
  });
});

describe('deploy/k8s', () => {
  const dir = join(ROOT, 'deploy', 'k8s');
  const docs: Yaml[] = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS()))
    .filter(Boolean);
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  const deployments = byKind('Deployment');
  const containersOf = (d: Yaml): Yaml[] => d.spec.template.spec.containers;
  const imageName = (image: string) =>
    image
      .split('/')
      .pop()!
      .replace(/[:@].*$/, '');

  it('kustomization lists every manifest', () => {
    const kustomization = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'));
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it('names only images the Dockerfiles build (and nats), running real commands', () => {
    for (const deployment of deployments) {
      for (const container of containersOf(deployment)) {
        const image = imageName(container.image);
        expect(images.has(image), `${deployment.metadata.name}: ${container.image}`).toBe(true);
        checkInvocation([...(container.command ?? images.get(image)!), ...(container.args ?? [])]);
      }
    }
    for (const set of byKind('StatefulSet')) {
      for (const container of containersOf(set)) expect(container.image).toMatch(/^nats:/);
    }
  });

  it('one Deployment per sample table, with replicas, NATS, and S3 credentials from the Secret', () => {
    const secret = byKind('Secret').find((s) => s.metadata.name === 's3-credentials');
    expect(Object.keys(secret.stringData)).toEqual(
      expect.arrayContaining(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']),
    );
    const tables = deployments
      .filter((d) => imageName(containersOf(d)[0].image) === 'duckdb-s3-query')
      .map((d) => {
        const container = containersOf(d)[0];
        const run = checkInvocation([...images.get('duckdb-s3-query')!, ...container.args]);
        const { user, variable } = tableUser(run.flags.get('--table-name') as string);
        expectNatsLogin(container, user, variable);
        expect(run.positionals[0]).toMatch(/^s3:\/\//);
        expect(d.spec.replicas).toBeGreaterThan(1);
        expect(container.envFrom).toEqual([{ secretRef: { name: secret.metadata.name } }]);
        return run.flags.get('--table-name');
      });
    expect(tables.sort()).toEqual([...SAMPLE_TABLES].sort());
  });

  /** NATS_URL names the user, its password comes from the Secret nats-users. */
  function expectNatsLogin(container: Yaml, user: string, variable: string): void {
    const env = new Map<string, Yaml>(container.env.map((e: Yaml) => [e.name, e]));
    expect(env.get('NATS_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'nats-users', key: variable });
    expect(env.get('NATS_URL').value).toBe(`nats://${user}:$(NATS_PASSWORD)@nats:4222`);
    const secret = byKind('Secret').find((s) => s.metadata.name === 'nats-users');
    expect(Object.keys(secret.stringData)).toContain(variable);
  }

  it('runs NATS with deploy/nats/permissions.conf, and the coordinator logs in as its user', () => {
    const map = byKind('ConfigMap').find((c) => c.metadata.name === 'nats-config');
    expect(map.data['permissions.conf']).toBe(PERMISSIONS);
    expect(map.data['nats.conf']).toMatch(/^include \.\/permissions\.conf$/m);
    const [nats] = byKind('StatefulSet');
    expect(containersOf(nats)[0].envFrom).toEqual([{ secretRef: { name: 'nats-users' } }]);
    const secret = byKind('Secret').find((s) => s.metadata.name === 'nats-users');
    expect(Object.keys(secret.stringData).sort()).toEqual([...natsUsers.values()].sort());
    const coordinator = deployments.find(
      (d) => imageName(containersOf(d)[0].image) === 'duckdb-distributed-query',
    );
    expectNatsLogin(containersOf(coordinator)[0], 'coordinator', 'NATS_COORDINATOR_PASSWORD');
  });

  it('probes /health on the code port and sets resources on every container', () => {
    for (const workload of [...deployments, ...byKind('StatefulSet')]) {
      for (const container of containersOf(workload)) {
        const name = `${workload.metadata.name}/${container.name}`;
        expect(container.resources?.requests, name).toBeDefined();
        expect(container.resources?.limits?.memory, name).toBeDefined();
        expect(container.readinessProbe, name).toBeDefined();
        expect(container.livenessProbe, name).toBeDefined();
        if (!images.has(imageName(container.image))) continue;
        const http = container.ports.find((p: Yaml) => p.name === 'http');
        expect(http.containerPort, name).toBe(PORT);
        for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
          if (!probe) continue;
          expect(probe.httpGet, name).toEqual({ path: HEALTH_PATH, port: 'http' });
        }
        expect(container.args, name).not.toContain('--port');
      }
    }
  });

  it('the coordinator mounts a valid config.json from a ConfigMap at /app/config.json', () => {
    const coordinator = deployments.find(
      (d) => imageName(containersOf(d)[0].image) === 'duckdb-distributed-query',
    );
    const mount = containersOf(coordinator)[0].volumeMounts.find(
      (m: Yaml) => m.mountPath === '/app/config.json',
    );
    const volume = coordinator.spec.template.spec.volumes.find((v: Yaml) => v.name === mount.name);
    const map = byKind('ConfigMap').find((c) => c.metadata.name === volume.configMap.name);
    expect(ClusterConfigSchema.safeParse(JSON.parse(map.data[mount.subPath])).success).toBe(true);
    const service = byKind('Service').find((s) => s.metadata.name === 'coordinator');
    expect(service.spec.ports[0].port).toBe(PORT);
  });

  it('NATS runs as a three-node cluster whose routes name its own pods', () => {
    const [nats] = byKind('StatefulSet');
    expect(nats.spec.replicas).toBe(3);
    const conf: string = byKind('ConfigMap').find((c) => c.metadata.name === 'nats-config').data['nats.conf'];
    for (let i = 0; i < 3; i++) {
      expect(conf).toContain(`nats://${nats.metadata.name}-${i}.${nats.spec.serviceName}.`);
    }
    const service = byKind('Service').find((s) => s.metadata.name === nats.spec.serviceName);
    expect(service.spec.ports.map((p: Yaml) => p.port).sort()).toEqual([4222, 6222, 8222]);
  });
});

describe('deploy/nats', () => {
  const natsServer = ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server'].find(
    (p) => existsSync(p),
  );

  it.skipIf(!natsServer)('every node config is valid for nats-server -t (given the passwords)', () => {
    const dir = join(ROOT, 'deploy', 'nats');
    for (const file of ['nats-1.conf', 'nats-2.conf', 'nats-3.conf', 'single.conf']) {
      const run = spawnSync(natsServer!, ['-t', '-c', file], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, ...passwordEnv },
      });
      expect(run.status, `${file}: ${run.stdout}${run.stderr}`).toBe(0);
      expect(run.stdout + run.stderr).toContain('is valid');
    }
  });
});
