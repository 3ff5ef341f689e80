/**
 * deploy/kubernetes against the Kubernetes API schemas, offline: every object is checked by the
 * validators kubernetes-models generates from the Kubernetes OpenAPI document (ajv, with formats),
 * both file by file and as `kubectl kustomize` renders the base. A broken copy must fail, so the
 * validation is known to bite. No cluster is needed.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { describeOptional, type Requirement } from '../support/requirements.ts';

const DIR = join(import.meta.dirname, '..', '..', 'deploy', 'kubernetes');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are free-form until validated
  spec?: any;
}

type Models = Record<string, new (data: unknown) => { validate(): void }>;

/** The API groups the manifests use, each with its generated models. */
const GROUPS: Record<string, () => Promise<unknown>> = {
  v1: () => import('kubernetes-models/v1'),
  'apps/v1': () => import('kubernetes-models/apps/v1'),
  'policy/v1': () => import('kubernetes-models/policy/v1'),
  'networking.k8s.io/v1': () => import('kubernetes-models/networking.k8s.io/v1'),
};

/** Validate one object with the model of its apiVersion/kind; returns the error text, or '' when valid. */
async function schemaErrors(object: K8sObject): Promise<string> {
  const group = GROUPS[object.apiVersion];
  if (!group) return `apiVersion ${object.apiVersion} is not one this test knows; add it to GROUPS`;
  const Model = ((await group()) as Models)[object.kind];
  if (!Model) return `no schema for ${object.apiVersion} ${object.kind}`;
  try {
    new Model(object).validate();
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

const parse = (text: string): K8sObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);

function kustomization(): { resources: string[] } {
  return parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'))[0] as unknown as { resources: string[] };
}

function resourceObjects(): K8sObject[] {
  return kustomization().resources.flatMap((file) => parse(readFileSync(join(DIR, file), 'utf8')));
}

describe('deploy/kubernetes manifests', () => {
  it('lists every manifest file of the folder in kustomization.yaml', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect(kustomization().resources.sort()).toEqual(files.sort());
  });

  it('validates every object against the Kubernetes schemas', async () => {
    const objects = resourceObjects();
    const errors: string[] = [];
    for (const object of objects) {
      const error = await schemaErrors(object);
      if (error) errors.push(`${object.kind}/${object.metadata?.name}: ${error}`);
    }
    expect(errors).toEqual([]);
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of [
      'Deployment',
      'Service',
      'DaemonSet',
      'ConfigMap',
      'Secret',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'ServiceAccount',
    ])
      expect(kinds, kind).toContain(kind);
  });

  it('rejects broken copies (the validation bites)', async () => {
    const deployment = resourceObjects().find((o) => o.kind === 'Deployment')!;
    const wrongType = structuredClone(deployment);
    wrongType.spec.replicas = 'one';
    expect(await schemaErrors(wrongType)).toMatch(/replicas/);
    const noImage = structuredClone(deployment);
    noImage.spec.template.spec.containers[0].ports[0].containerPort = 'grpc';
    expect(await schemaErrors(noImage)).toMatch(/containerPort/);
    const noSelector = structuredClone(deployment);
    delete noSelector.spec.selector;
    expect(await schemaErrors(noSelector)).toMatch(/selector/);
  });

  it('probes /healthz, sets requests and limits, and runs the Master as non-root', () => {
    const objects = resourceObjects();
    for (const workload of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet')) {
      for (const container of workload.spec.template.spec.containers) {
        expect(container.livenessProbe.httpGet.path).toBe('/healthz');
        expect(container.readinessProbe.httpGet.path).toBe('/healthz');
        expect(container.resources.requests).toBeDefined();
        expect(container.resources.limits).toBeDefined();
      }
    }
    const master = objects.find((o) => o.kind === 'Deployment')!;
    expect(master.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget')!;
    expect(pdb.spec.selector.matchLabels).toEqual(master.spec.selector.matchLabels);
    const worker = objects.find((o) => o.kind === 'DaemonSet')!;
    const mounts = worker.spec.template.spec.containers[0].volumeMounts.map((m: { mountPath: string }) => m.mountPath);
    expect(mounts).toEqual(expect.arrayContaining(['/sys/fs/cgroup', '/var/run/docker.sock']));
  });
});

function kubectlRequirement(): Requirement {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'pipe', timeout: 20_000 });
    return { ok: true };
  } catch {
    return { ok: false, reason: 'kubectl not installed (it renders the kustomize base)' };
  }
}

// kubectl is optional, unlike the facilities STRATA_REQUIRE_ALL insists on: neither Debian nor the
// npm registry (all CI can reach) ships it, and the file-by-file validation above covers the
// schemas; where kubectl exists the rendered base is checked too.
describeOptional(kubectlRequirement(), 'kubectl kustomize deploy/kubernetes', () => {
  it('renders, and every rendered object is valid and in the strata namespace', async () => {
    const text = execFileSync('kubectl', ['kustomize', DIR], { encoding: 'utf8', timeout: 60_000 });
    const objects = parse(text);
    expect(objects.length).toBe(resourceObjects().length);
    for (const object of objects) {
      expect(await schemaErrors(object), `${object.kind}/${object.metadata.name}`).toBe('');
      if (object.kind !== 'Namespace') expect(object.metadata.namespace).toBe('strata');
      expect(object.metadata.labels?.['app.kubernetes.io/part-of']).toBe('strata');
    }
  });
});
