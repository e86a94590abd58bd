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
import { parseShard, type ShardSpec } from '../../src/protocol/shards.js';
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

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/**
 * The data containers of one split table: the same objects, the same N, every part 0..N-1
 * served (exactly `perPart` times when given). Returns N.
 */
function expectCompleteParts(table: string, runs: Invocation[], perPart?: number): number {
  const shards: ShardSpec[] = runs.map((run) => parseShard(String(run.flags.get('--shard'))));
  const count = shards[0].count;
  expect(count, `${table} is split`).toBeGreaterThan(1);
  for (const shard of shards) expect(shard.count, `${table}: every part says N = ${count}`).toBe(count);
  const served = shards.map((s) => s.index).sort((a, b) => a - b);
  expect(new Set(served), `${table}: parts 0..${count - 1} all served`).toEqual(
    new Set(Array.from({ length: count }, (_, i) => i)),
  );
  if (perPart !== undefined) expect(served.length).toBe(count * perPart);
  // The parts divide one listing among themselves: the same prefix glob for every part.
  const urls = new Set(runs.map((run) => run.positionals.join(' ')));
  expect(urls.size, `${table}: every part lists the same objects`).toBe(1);
  expect([...urls][0]).toMatch(/^s3:\/\/\S+\/\*\.csv\.gz$/);
  return count;
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
  /** The data containers: service name and what it runs. */
  const serving = ours
    .filter(([, s]) => !s.entrypoint)
    .map(([name, s]) => [name, checkInvocation([...images.get(s.image)!, ...(s.command ?? [])])] as const)
    .filter(([, run]) => run.subcommand === 'serve');
  const job = () =>
    checkInvocation([...services['sample-data'].entrypoint, ...services['sample-data'].command]);

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
        // The sample-data job writes each table as objects under its own prefix when --objects is given.
        const objects = Number(job().flags.get('--objects') ?? 1);
        const url = objects > 1 ? `s3://sample-data/${table}/*.csv.gz` : `s3://sample-data/${table}.csv.gz`;
        expect(run.positionals, name).toEqual([url]);
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
    const tables = new Set(serving.map(([, run]) => run.flags.get('--table-name')));
    expect([...tables].sort()).toEqual([...SAMPLE_TABLES].sort());
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
    const hostPorts = served.map(([, s]) => s.ports[0].split(':')[0]);
    expect(new Set(hostPorts).size, 'each container its own host port').toBe(hostPorts.length);
  });

  it('shows one table split in two parts, each part a service of its own, the others whole', () => {
    const byTable = groupBy(serving, ([, run]) => String(run.flags.get('--table-name')));
    const split = [...byTable].filter(([, runs]) => runs.some(([, run]) => run.flags.has('--shard')));
    expect(split.map(([table]) => table)).toEqual(['label_urls']);
    const [table, runs] = split[0];
    expect(
      expectCompleteParts(
        table,
        runs.map(([, run]) => run),
        1,
      ),
    ).toBe(2);
    // The job writes enough objects for every part to get some.
    expect(Number(job().flags.get('--objects'))).toBeGreaterThanOrEqual(2);
    for (const [other, rest] of byTable) {
      if (other !== table) expect(rest.length, other).toBe(1);
    }
  });

  it('the sample data goes to MinIO, with the credentials the data containers use', () => {
    expect(services.s3.image).toMatch(/^minio\/minio:/);
    const port = services.s3.command[services.s3.command.indexOf('--address') + 1].replace(':', '');
    expect(services.s3.ports).toContain(`${port}:${port}`);
    expect(services.s3.healthcheck.test).toEqual(['CMD', 'mc', 'ready', 'local']);
    expect(job().flags.get('--s3-endpoint')).toBe(`http://s3:${port}`);
    expect(job().flags.get('--upload')).toBe('s3://sample-data');
    for (const name of ['sample-data', ...serving.map(([service]) => service)]) {
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
    const containers = serving.map(([service]) => service);
    for (const service of containers) {
      expect(Object.keys(services[service].depends_on).sort()).toEqual(['nats', 'sample-data']);
    }
    // The coordinator waits for every part of every table.
    expect(Object.keys(services.coordinator.depends_on).sort()).toEqual(containers.sort());
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
    const tables = dataDeployments().map(({ deployment, container, run }) => {
      const { user, variable } = tableUser(run.flags.get('--table-name') as string);
      expectNatsLogin(container, user, variable);
      expect(run.positionals[0]).toMatch(/^s3:\/\//);
      expect(deployment.spec.replicas).toBeGreaterThan(1);
      expect(container.envFrom).toEqual([{ secretRef: { name: secret.metadata.name } }]);
      return run.flags.get('--table-name');
    });
    expect([...new Set(tables)].sort()).toEqual([...SAMPLE_TABLES].sort());
  });

  /** The data containers' Deployments, with what each runs. */
  function dataDeployments() {
    return deployments
      .filter((d) => imageName(containersOf(d)[0].image) === 'duckdb-s3-query')
      .map((deployment) => {
        const container = containersOf(deployment)[0];
        const run = checkInvocation([...images.get('duckdb-s3-query')!, ...container.args]);
        return { deployment, container, run };
      });
  }

  it('shows one table split in parts: a Deployment per part, each with replicas, pods told apart by part', () => {
    const byTable = groupBy(dataDeployments(), ({ run }) => String(run.flags.get('--table-name')));
    const split = [...byTable].filter(([, ds]) => ds.some(({ run }) => run.flags.has('--shard')));
    expect(split.length).toBe(1);
    const [table, parts] = split[0];
    expectCompleteParts(
      table,
      parts.map(({ run }) => run),
      1,
    );
    for (const { deployment, run } of parts) {
      const name = deployment.metadata.name;
      expect(deployment.spec.replicas, `${name}: replicas of its part`).toBeGreaterThan(1);
      const podLabels = deployment.spec.template.metadata.labels;
      expect(podLabels, name).toMatchObject(deployment.spec.selector.matchLabels);
      // No Deployment's selector takes another part's pods.
      for (const other of parts.filter((p) => p.deployment !== deployment)) {
        const theirs = other.deployment.spec.template.metadata.labels;
        const overlaps = Object.entries(deployment.spec.selector.matchLabels).every(
          ([k, v]) => theirs[k] === v,
        );
        expect(overlaps, `${name} selects ${other.deployment.metadata.name}'s pods`).toBe(false);
      }
      // Its Service reaches this part's pods only (GET /metadata of the part).
      const service = byKind('Service').find((s) => s.metadata.name === name);
      expect(service, `a Service ${name}`).toBeDefined();
      expect(podLabels).toMatchObject(service.spec.selector);
      expect(String(podLabels.part)).toBe(String(parseShard(String(run.flags.get('--shard'))).index));
    }
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
