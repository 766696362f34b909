/** The scheduler's types for the jobs this gateway runs (the scheduler itself knows only `TaskSource`). */
import type { LeaseRecord, Scheduler, SessionPort } from '../scheduler/scheduler.js';
import type { ActiveJob } from './activeJob.js';

export type JobScheduler = Scheduler<ActiveJob>;
export type JobLease = LeaseRecord<ActiveJob>;
export type JobSession = SessionPort<ActiveJob>;
