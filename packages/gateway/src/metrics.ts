/** Prometheus metrics of one gateway (its own registry, so several gateways can live in one process). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(gauges: { nodes(): number; queued(): number; leases(): number; activeJobs(): number; dbStatements?(): number }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'lode_gateway_' });
  const m = {
    registry,
    jobsSubmitted: new Counter({ name: 'lode_jobs_submitted_total', help: 'Jobs accepted', registers: [registry] }),
    jobsFinished: new Counter({ name: 'lode_jobs_finished_total', help: 'Jobs finished, by final status', labelNames: ['status'], registers: [registry] }),
    tasksSubmitted: new Counter({ name: 'lode_tasks_submitted_total', help: 'Tasks accepted', registers: [registry] }),
    tasksCompleted: new Counter({ name: 'lode_tasks_completed_total', help: 'Tasks that ran to completion', registers: [registry] }),
    tasksFailed: new Counter({ name: 'lode_tasks_failed_total', help: 'Tasks that failed for good', registers: [registry] }),
    tasksRetried: new Counter({ name: 'lode_tasks_retried_total', help: 'Tasks requeued after an infrastructure failure', registers: [registry] }),
    taskLatency: new Histogram({
      name: 'lode_task_lease_seconds',
      help: 'Time from lease to accepted result',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'lode_nodes_connected',
    help: 'Authenticated node sessions',
    registers: [registry],
    collect() {
      this.set(gauges.nodes());
    },
  });
  new Gauge({
    name: 'lode_tasks_queued',
    help: 'Tasks waiting for a node',
    registers: [registry],
    collect() {
      this.set(gauges.queued());
    },
  });
  new Gauge({
    name: 'lode_leases_active',
    help: 'Tasks leased to nodes',
    registers: [registry],
    collect() {
      this.set(gauges.leases());
    },
  });
  new Gauge({
    name: 'lode_jobs_active',
    help: 'Jobs not yet finished',
    registers: [registry],
    collect() {
      this.set(gauges.activeJobs());
    },
  });
  let counted = 0;
  new Counter({
    name: 'lode_db_statements_total',
    help: 'Round trips to the database: statements, and BEGIN and COMMIT of each transaction',
    registers: [registry],
    collect() {
      const now = gauges.dbStatements?.() ?? 0;
      this.inc(Math.max(0, now - counted));
      counted = now;
    },
  });
  return m;
}

export type GatewayMetrics = ReturnType<typeof createMetrics>;
