/**
 * `GET /v1/availability`: the availability epoch in progress (each registered device's
 * challenges so far: passed, missed, the slots it is scored on) and the last settled epochs
 * with their rewards (and the reward batch that pays them). LEDGER_DISABLED without a ledger.
 */
import type { FastifyInstance } from 'fastify';
import { LedgerDisabledError } from '@lode/protocol';
import type { AvailabilityService } from '../availability/availability.js';

export async function availabilityApi(app: FastifyInstance, { availability }: { availability?: AvailabilityService }): Promise<void> {
  app.get('/v1/availability', async () => {
    if (!availability) throw new LedgerDisabledError();
    return { current: availability.currentView(), settled: availability.settledViews() };
  });
}
