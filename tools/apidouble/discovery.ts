// Legacy (non-aggregated) discovery documents. kubectl asks for aggregated
// discovery first and falls back to these when the response's content type is
// plain application/json, which is what the double always answers.

import { RESOURCES, groupVersion, groupVersions } from './resources.ts';

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
const SUB_VERBS = ['get', 'patch', 'update'];
/** `kubectl get all` lists the resources of category "all". */
const ALL_CATEGORY = new Set(['services', 'pods']);

export const SERVER_VERSION = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.0-routewarden-apidouble',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.24.0',
  compiler: 'gc',
  platform: 'linux/amd64',
} as const;

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** The APIResourceList of one group/version, or undefined when it is not served. */
export function resourceList(gv: string): object | undefined {
  const defs = RESOURCES.filter((r) => groupVersion(r) === gv);
  if (defs.length === 0) return undefined;
  const resources: object[] = [];
  for (const r of defs) {
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: VERBS,
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
      ...(ALL_CATEGORY.has(r.id) ? { categories: ['all'] } : {}),
    });
    for (const sub of r.subresources) {
      resources.push({ name: `${r.plural}/${sub}`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: SUB_VERBS });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources };
}

function group(name: string): object {
  const versions = groupVersions()
    .filter((g) => g.group === name)
    .map((g) => ({ groupVersion: `${g.group}/${g.version}`, version: g.version }));
  return { name, versions, preferredVersion: versions[0] };
}

export function apiGroupList(): object {
  const names = [...new Set(groupVersions().map((g) => g.group))].filter((g) => g !== '');
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: names.map(group) };
}

export function apiGroup(name: string): object | undefined {
  if (name === '' || !groupVersions().some((g) => g.group === name)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...group(name) };
}
