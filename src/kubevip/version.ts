// kube-vip's version, read from its container's image tag, for the few
// behaviours routewarden models that changed between releases
// (docs/kube-vip-fidelity.md, "kube-vip versions"). The model follows
// kube-vip at bee5cfe (v1.2.3-24); an image whose tag is not a release
// routewarden knows (a digest only, `latest`, a build, a newer release) is
// judged as that newest known code, and the report says so.
//
// Hand-written: the tag grammar (`vMAJOR.MINOR.PATCH`) is a two-line regular
// expression; a semver library would add a dependency for one comparison.

import type { KubeVipBehaviour, KubeVipVersionReport } from '../core/model.ts';

/** The code routewarden's model follows. */
export const NEWEST_KNOWN = 'v1.2.3-24 (bee5cfe)';
/** The newest kube-vip release routewarden knows; anything later is judged as NEWEST_KNOWN. */
const NEWEST_RELEASE: Release = [1, 2, 3];

type Release = readonly [number, number, number];

export interface KubeVipVersion {
  readonly report: KubeVipVersionReport;
  /** The release, when the tag is one routewarden knows; null: judged as NEWEST_KNOWN. */
  readonly release: Release | null;
}

/** The tag of an image reference: `repo:tag`, `repo:tag@sha256:…`; null for a digest only or no tag. */
function tagOf(image: string): string | null {
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(colon + 1) : null;
}

export function kubeVipVersion(image: string): KubeVipVersion {
  const tag = tagOf(image);
  const m = tag === null ? null : /^v?(\d+)\.(\d+)\.(\d+)$/.exec(tag);
  const release = m ? ([Number(m[1]), Number(m[2]), Number(m[3])] as const) : null;
  if (release !== null && compare(release, NEWEST_RELEASE) <= 0) {
    return { release, report: { tag, known: true, judgedAs: `v${release.join('.')}`, detail: `kube-vip v${release.join('.')}, from the image tag` } };
  }
  const why =
    tag === null
      ? 'the image has no tag (a digest only)'
      : release !== null
        ? `v${release.join('.')} is newer than the releases routewarden knows`
        : `the image tag ${JSON.stringify(tag)} is not a kube-vip release`;
  return {
    release: null,
    report: { tag, known: false, judgedAs: NEWEST_KNOWN, detail: `${why}: judged as kube-vip ${NEWEST_KNOWN}, the newest code routewarden models` },
  };
}

function compare(a: Release, b: Release): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** The version is at least `min`; an unknown version is the newest known code, newer than every release. */
export function atLeast(v: KubeVipVersion, min: Release): boolean {
  return v.release === null || compare(v.release, min) >= 0;
}

/** The version is within [from, to], both releases; never for an unknown version. */
export function between(v: KubeVipVersion, from: Release, to: Release): boolean {
  return v.release !== null && compare(v.release, from) >= 0 && compare(v.release, to) <= 0;
}

/**
 * The behaviours of this release that differ from bee5cfe, as facts for the
 * core (KubeVipInstance.behaviour); null when it behaves as bee5cfe.
 * Every release routewarden knows is at most v1.2.3, which kept a Service's
 * routes when it left type LoadBalancer (pkg/services/processor.go
 * `AddOrModify` returned early; bee5cfe calls `deleteTrackedService`);
 * v1.2.0–v1.2.2 wiped the table in the start-up cleanup (#1678).
 */
export function versionBehaviour(v: KubeVipVersion): KubeVipBehaviour | null {
  if (!between(v, [0, 0, 0], [1, 2, 3])) return null;
  return {
    release: v.report.judgedAs,
    keepsRoutesOnTypeChange: true,
    ...(between(v, [1, 2, 0], [1, 2, 2]) ? { cleanupWipesTable: true } : {}),
  };
}
