/**
 * Verification's side of scheduling (the scheduler's `SchedulerTrust`): which node may take a
 * replica, what a lease of a verified job records, when a known-answer check rides along, how
 * much verified work a node on probation holds, and whether such nodes go first.
 *
 * A `none` job's lease of a task without a replica set records nothing here: the hot path.
 */
import type { CanaryPick, SchedulerTrust } from '../scheduler/scheduler.js';
import type { ActiveJob } from './activeJob.js';
import type { JobLease, JobSession } from './leases.js';
import type { TrustService } from '../trust/trustService.js';
import type { KnownAnswer } from '../verify/canaries.js';
import type { NetworkView } from '../verify/types.js';

export interface SchedulerHooksDeps {
  trust: TrustService;
  /** Share of verified-job leases given first to nodes on probation. */
  newcomerShare: number;
  /** The connected node sessions. */
  sessions(): Iterable<JobSession>;
}

export class SchedulerHooks implements SchedulerTrust<ActiveJob> {
  private netView: NetworkView | undefined;
  /** Moving share of verified-job leases that went to nodes on probation. */
  private probationShare = 0;

  constructor(private readonly d: SchedulerHooksDeps) {}

  allowsReplica(job: JobLease['job'], index: number, node: JobSession): boolean {
    return job.verification.allows(
      index,
      { address: node.address, remote: node.remote ?? '', newcomer: this.d.trust.book.isNewcomer(node.address) },
      this.network(),
    ).ok;
  }

  issued(lease: JobLease): (CanaryPick & KnownAnswer) | undefined {
    const jv = lease.job.verification;
    if (jv.policy.trivial && lease.kind !== 'speculative' && !jv.setOf(lease.index)) return undefined;
    if (!jv.policy.trivial) this.probationShare = this.probationShare * 0.99 + (this.d.trust.book.isNewcomer(lease.session.address) ? 0.01 : 0);
    const out = jv.issued(
      lease.index,
      { leaseId: lease.leaseId, node: lease.session.address, remote: lease.session.remote ?? '', handle: lease },
      lease.kind === 'speculative' ? 'speculative' : 'replica',
    );
    lease.job.addReplicas(lease.index, out.more);
    return out.canary ? jv.pickCanary(lease.session.address) : undefined;
  }

  canaryIssued(lease: JobLease, pick: CanaryPick): void {
    lease.job.verification.canaryIssued(pick as KnownAnswer, { leaseId: lease.leaseId, node: lease.session.address, remote: lease.session.remote ?? '' });
  }

  verifiedCapacity(node: JobSession): number {
    return this.d.trust.verifiedCapacity(node.address, node.capabilities.slots, node.capacity);
  }

  onProbation(node: JobSession): boolean {
    return this.d.trust.book.isNewcomer(node.address);
  }

  probationFirst(): boolean {
    return this.probationShare < this.d.newcomerShare;
  }

  /** Distinct remote addresses and established nodes among connected sessions (cached for one turn). */
  network(): NetworkView {
    if (this.netView) return this.netView;
    const remotes = new Set<string>();
    for (const s of this.d.sessions()) remotes.add(s.remote ?? '');
    this.netView = { distinctRemotes: remotes.size, established: this.d.trust.book.establishedOnline() };
    setImmediate(() => (this.netView = undefined));
    return this.netView;
  }
}
