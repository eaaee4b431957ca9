// What the application layer needs from outside it, in its own terms: the
// settings each use case reads (narrow slices; the CLI's Config satisfies
// every one of them) and the observers it reports to (the Prometheus metrics
// in src/surface implement them). app never imports src/cli or src/surface:
// src/cli composes the two (docs/architecture.md, "Layers").

import type { Logger as PinoLogger } from 'pino';
import type { KubeVipModel } from '../core/model.ts';
import type { GuardReason, Strategy } from '../core/repair.ts';
import type { Report } from '../core/report.ts';

/** The log calls app makes; a pino logger (src/surface/logger.ts) is one. */
export type Logger = Pick<PinoLogger, 'trace' | 'debug' | 'info' | 'warn' | 'error'>;

/** What a repair reads (--strategy, --dry-run, the guards' limits, the route type to add). */
export interface RepairSettings {
  readonly model: KubeVipModel;
  readonly strategy: Strategy;
  readonly dryRun: boolean;
  readonly graceMs: number;
  readonly maxDeletions: number;
  readonly allowEmpty: boolean;
  readonly minRepairIntervalMs: number;
  /** --watch-idle-timeout: a Kubernetes view silent this long is not repaired from. */
  readonly watchIdleTimeoutMs: number;
}

/** What kube-vip discovery reads (--kube-vip-config and the flags it weighs against kube-vip's pod). */
export interface DiscoverySettings {
  readonly model: KubeVipModel;
  readonly kubeVipConfig: 'auto' | 'off';
  /** --kube-vip-selector; "" = recognise kube-vip pods by their image. */
  readonly kubeVipSelector: string;
  readonly kubeVipStartGraceMs: number;
  /** The flags given on the command line or as ROUTEWARDEN_* env: these win over kube-vip's pod. */
  readonly explicit: ReadonlyMap<string, 'flag' | 'env'>;
}

/** Told about every finished check. */
export interface CheckObserver {
  /** `entered`: the routes that newly drifted in this check. */
  checked(report: Report, entered: readonly { readonly kind: 'orphan' | 'missing' }[], durationSeconds: number): void;
  /** `count` more objects of `kind` (Service, EndpointSlice, Lease, Pod) were rejected from the Kubernetes view. */
  rejected?(kind: string, count: number): void;
  /** A full check corrected `count` differences of the incremental state on one side (each one a bug). */
  resyncCorrected?(side: 'kernel' | 'expected', count: number): void;
}

/** Told what each repair attempt did. */
export interface RepairObserver {
  /** A guard refused the repair. */
  blocked(strategy: Strategy, reason: GuardReason): void;
  /** --dry-run: the plan was logged, nothing changed. */
  dryRun(strategy: Strategy): void;
  /** Route changes the kernel accepted. */
  changed(added: number, deleted: number): void;
  /** The repair ran; `ok` when every change succeeded and the read-back is in sync. */
  finished(strategy: Strategy, ok: boolean): void;
  /** How many destinations repair leaves alone because their repairs keep being undone. */
  flapping(destinations: number): void;
}
