import type { LeadershipChange } from '../runtime/manager.js';
import type { AuditRecord } from './audit.js';

const MESSAGES: Record<LeadershipChange['reason'], string> = {
  LeaderElected: 'acquired the leader lease; reconciling and collecting from now on',
  LeaderLost: 'could not renew the leader lease within the renew deadline; stopped acting',
  LeaderReleased: 'released the leader lease on shutdown; a standby can take over at once',
  LeaderStopped: 'stopped leading on shutdown without releasing the lease; a standby takes over when it expires',
  LeadingWithoutElection: 'leader election is off; this instance reconciles and collects alone',
};

/**
 * The audit record of an operator leadership change: an operator-scope event (no fleet or pool)
 * in the lease's namespace. The sink stamps the acting instance; identity and lease are details too,
 * so a lost lease is recorded with who lost it.
 */
export function leadershipAuditRecord(c: LeadershipChange, fallbackNamespace: string): AuditRecord {
  const namespace = c.lease?.namespace ?? fallbackNamespace;
  const details: NonNullable<AuditRecord['details']> = { leading: c.leading };
  if (c.identity !== undefined) details.identity = c.identity;
  if (c.lease) {
    details.lease = `${c.lease.namespace}/${c.lease.name}`;
    details.leaseTransitions = c.lease.transitions;
  }
  if (c.previousHolder !== undefined) details.previousHolder = c.previousHolder;
  const who = c.identity ?? 'operator';
  const took = c.previousHolder !== undefined ? ` (took over from ${c.previousHolder})` : '';
  return {
    type: 'leadership',
    scope: 'operator',
    namespace,
    reason: c.reason,
    message: `${who} ${MESSAGES[c.reason]}${took}`,
    severity: c.reason === 'LeaderLost' ? 'warning' : 'info',
    time: c.time,
    details,
    eventId: `${c.lease ? `${c.lease.namespace}/${c.lease.name}` : namespace}:leadership:${who}:${c.reason}:${c.time.getTime()}`,
  };
}
