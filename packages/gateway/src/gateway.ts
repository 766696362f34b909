/**
 * Starts a gateway: HTTP API + node WebSocket on one port, the store, the scheduler and the
 * job manager, wired together. `close()` stops accepting, flushes pending writes, closes sockets.
 */
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import websocket from '@fastify/websocket';
import rateLimit from '@fastify/rate-limit';
import { pino, type Logger } from 'pino';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { LIMITS, PROTOCOL_VERSION, ReputationRefusedError, StakeRequiredError, originOf, type LodeDomain } from '@lode/protocol';
import { GatewayOptions, type GatewayConfig } from './config.js';
import { systemClock, type Clock } from './clock.js';
import { openStore, SqlStore } from './store/index.js';
import { ClusterMember } from './cluster/member.js';
import { planMoves, type PeerLoad } from './cluster/rebalance.js';
import type { Store } from './store/types.js';
import { Scheduler } from './scheduler/scheduler.js';
import type { ActiveJob } from './jobs/activeJob.js';
import { JobManager } from './jobs/jobManager.js';
import { SchedulerHooks } from './jobs/schedulerHooks.js';
import { JobEvents } from './jobs/events.js';
import { NodeRegistry } from './nodes/registry.js';
import type { NodeSession } from './nodes/nodeSession.js';
import { createMetrics } from './metrics.js';
import { installErrorHandler } from './api/errors.js';
import { SessionAuth, allowedHosts, authApi, installSessions } from './api/auth.js';
import { blobsApi } from './api/blobs.js';
import { jobsApi } from './api/jobs.js';
import { ledgerApi } from './api/ledger.js';
import { nodesApi } from './api/nodes.js';
import { systemApi } from './api/system.js';
import { trustApi } from './api/trust.js';
import { availabilityApi } from './api/availability.js';
import { AvailabilityService } from './availability/availability.js';
import { availabilityChain } from './availability/chain.js';
import { readWorkload, reference } from '@lode/workloads';
import { createHash } from 'node:crypto';
import { webApi } from './api/web.js';
import { PortInUseError } from './errors.js';
import { CHAIN_PROBE_EVERY_MS, GatewayLedger } from './settlement/ledgerService.js';
import { TrustService } from './trust/trustService.js';
import { trustConfigFrom } from './verify/trustConfig.js';
import { loadOrCreateAccount } from '@lode/keystore';
import { join } from 'node:path';
import { rateLimited } from './api/limits.js';
import { clientKey } from './clientKey.js';
import { JobIntake } from './jobs/intake.js';
import { Lifecycle, every } from './lifecycle.js';

export interface GatewayHandle {
  /** http://host:port */
  url: string;
  /** ws://host:port/v1/nodes/ws */
  wsUrl: string;
  port: number;
  config: GatewayConfig;
  /** The ledger, unless it runs with `ledger: 'off'`. */
  ledger: GatewayLedger | undefined;
  /** The gateway's account and chain: the EIP-712 domain every signature sent to it is bound to. */
  identity: LodeDomain;
  /** The HTTP routes it serves (method and path, as registered). */
  routes: ReadonlyArray<{ method: string; path: string }>;
  close(): Promise<void>;
}

export async function startGateway(options: GatewayOptions = {}, deps: { clock?: Clock; store?: Store } = {}): Promise<GatewayHandle> {
  const config = GatewayOptions.parse(options);
  const clock = deps.clock ?? systemClock;
  const log = pino({ level: config.logLevel, base: { svc: 'gateway' } });

  // Every part joins `parts` as soon as it exists; whatever fails below stops what was started.
  const parts = new Lifecycle(log);
  let store = deps.store;
  if (!store) {
    if (!config.databaseUrl) mkdirSync(resolve(config.dataDir), { recursive: true });
    store = await openStore({ dataDir: config.databaseUrl ? undefined : resolve(config.dataDir), databaseUrl: config.databaseUrl });
  }
  const db = store;
  await parts.start([{ name: 'store', start: () => db.init(), stop: () => db.close() }]);
  try {
    return await assemble(config, db, parts, clock, log);
  } catch (err) {
    await parts.stop();
    throw err;
  }
}

/** Builds the gateway's parts on an open store, starts them in order, and listens. */
async function assemble(config: GatewayConfig, store: Store, parts: Lifecycle, clock: Clock, log: Logger): Promise<GatewayHandle> {
  let ledger: GatewayLedger | undefined;
  if (config.ledger !== 'off') {
    mkdirSync(resolve(config.dataDir), { recursive: true });
    const opened = await GatewayLedger.open({ config, store, log, clock });
    ledger = opened;
    // The chain and the ledger's threads go last (after everything that may still write receipts).
    await parts.start([{ name: 'chain', stop: () => opened.stop() }]);
  }

  const events = new JobEvents();
  const trustConfig = trustConfigFrom(config.trust);
  // The gateway's own key (the ledger settles with it too): signs evidence and credentials, and
  // with the chain is the EIP-712 domain every signature sent here must be bound to.
  mkdirSync(resolve(config.dataDir), { recursive: true });
  const { account: gatewayAccount } = await loadOrCreateAccount(join(config.dataDir, 'gateway'), { create: true, log });
  const domain: LodeDomain = { gateway: gatewayAccount.address, chainId: ledger?.chainId ?? 0 };
  const publicHosts = config.publicUrls.map((u) => originOf(u));
  const sessions = new SessionAuth({ ...domain, secretFile: join(config.dataDir, 'gateway', 'session.key'), hosts: publicHosts, now: () => clock.now() });
  const intake = new JobIntake({ domain });
  const trust = new TrustService({
    store,
    log,
    clock,
    account: gatewayAccount,
    chainId: domain.chainId,
    config: trustConfig,
    slasher: ledger,
    onRefused(address) {
      for (const s of registry.sessions.values()) {
        if (s.address !== address) continue;
        const err = new ReputationRefusedError(`Node ${address} was proven wrong ${trustConfig.maxStrikes} times; this gateway no longer gives it work.`);
        s.sendError(err.code, err.shortMessage);
        s.close(4006, 'reputation_refused');
      }
    },
  });
  const registry = new NodeRegistry(
    store,
    log,
    () => clock.now(),
    (a) => trust.reputationOf(a),
  );
  const metrics = createMetrics({
    nodes: () => registry.sessions.size,
    queued: () => jobs.queuedTasks(),
    leases: () => [...registry.sessions.values()].reduce((n, s) => n + s.inflight, 0),
    activeJobs: () => jobs.activeJobs,
    dbStatements: () => (store instanceof SqlStore ? store.executor.stats.statements : 0),
  });
  // Verification's side of scheduling; it sees the connected nodes through the registry.
  const hooks = new SchedulerHooks({ trust, newcomerShare: trustConfig.newcomerShare, sessions: () => registry.sessions.values() });
  const scheduler = new Scheduler<ActiveJob>({
    clock,
    pipelineDepth: config.pipelineDepth,
    maxPipelineDepth: config.maxPipelineDepth,
    queueTargetMs: config.queueTargetMs,
    leaseGraceMs: config.leaseGraceMs,
    expiryScanMs: config.expiryScanMs,
    onLeaseLost: (lease, reason) => jobs.onLeaseLost(lease, reason),
    trust: hooks,
  });
  /** Where nodes reach this gateway (its first public URL, else the address it listens at, once it does). */
  let selfUrl: string | null = config.publicUrls[0] ?? null;
  /** Idle nodes asked to move to a busy gateway (cluster/rebalance.ts) and still here after this get work again. */
  const moveWaitMs = 5000;
  const rebalance = (peers: PeerLoad[]) => {
    const sessions = [...registry.sessions.values()].filter((s) => s.ready && !s.draining);
    const moves = planMoves(
      { queued: jobs.queuedTasks(), slots: sessions.reduce((n, s) => n + s.capabilities.slots, 0) },
      sessions.map((s) => ({ id: s.id, slots: s.capabilities.slots, inflight: s.inflight, connectedAt: s.connectedAt, moveAskedAt: s.moveAskedAt })),
      peers,
      { now: clock.now(), settleMs: config.clusterLeaseMs },
    );
    for (const m of moves) {
      const s = registry.sessions.get(m.node);
      if (!s) continue;
      log.info({ node: s.address, session: s.id, to: m.to, peer: m.peer }, 'asking an idle node to move to a gateway with work waiting');
      s.askToMove(m.to, moveWaitMs);
    }
  };
  // On a PostgreSQL server, this gateway is one of a cluster (cluster/): it runs the jobs it owns.
  const member =
    config.databaseUrl && store instanceof SqlStore
      ? new ClusterMember({
          db: store.executor,
          log,
          identity: {
            gateway: domain.gateway.toLowerCase(),
            chain: !ledger ? 'off' : ledger.mode === 'embedded' ? 'embedded' : `${ledger.chainId}:${ledger.addresses.escrow.toLowerCase()}`,
          },
          ttlMs: config.clusterLeaseMs,
          adopt: (owned) => jobs.adopt(owned.jobId),
          lost: () => jobs.dropAll(),
          canRun: () => registry.sessions.size > 0,
          load: () => ({
            url: selfUrl,
            queued: jobs.queuedTasks(),
            slots: [...registry.sessions.values()].reduce((n, s) => n + (s.ready ? s.capabilities.slots : 0), 0),
          }),
          peers: rebalance,
          // One account for the cluster: only the settler sends its chain transactions.
          settler: ledger && {
            gained: (fence) => ledger!.lead(fence),
            lost: () => ledger!.follow(),
            holding: () => trust.slashPending(),
          },
        })
      : undefined;
  if (member) ledger?.joinCluster();
  const jobs: JobManager = new JobManager({
    store,
    clock,
    log,
    events,
    metrics,
    scheduler,
    acks: {
      ack: (session, leaseId) => (session as NodeSession).ack(leaseId),
      reject: (session, leaseId, code, message) => (session as NodeSession).sendError(code, message, leaseId),
    },
    network: () => hooks.network(),
    inspectModule: (bytes) => intake.inspectModule(bytes),
    maxAttempts: config.maxAttempts,
    commitIntervalMs: config.commitIntervalMs,
    maxModuleBytes: config.maxModuleBytes,
    escrow: ledger,
    trust,
    stragglers: trustConfig.stragglers,
    maxParkMs: trustConfig.maxParkMs,
    domain,
    quotas: config.limits,
    clustered: member,
  });

  // Availability epochs (availability/): challenges to registered devices, rewards per epoch.
  let availability: AvailabilityService | undefined;
  if (ledger && config.availability) {
    const primes = readWorkload('primes');
    const module = createHash('sha256').update(primes).digest('hex');
    await store.putBlob(module, primes);
    availability = new AvailabilityService({
      chain: availabilityChain(ledger.client, ledger.addresses),
      sessions: () => registry.sessions.values(),
      module,
      countPrimes: reference.primesCount,
      store: store.availability,
      // The same challenge moments after a restart: keyed by the gateway's own (deterministic) signature.
      secret: createHash('sha256')
        .update(await gatewayAccount.signMessage({ message: 'lode: availability challenge moments' }))
        .digest(),
      resume: (s) => scheduler.resume(s as NodeSession),
      now: () => clock.now(),
      log: log.child({ part: 'availability' }),
    });
  }

  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: LIMITS.maxBodyBytes,
    forceCloseConnections: true,
    ...(config.trustProxy.length > 0 ? { trustProxy: config.trustProxy } : {}),
  });
  installErrorHandler(app);
  /** The routes served, for the handle (and the test that every one is in the OpenAPI document). */
  const routes: Array<{ method: string; path: string }> = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, path: r.url });
  });
  // A socket starts with the limit for a stranger's frames (64 KiB: a hello is ~1 KiB); a node's
  // session raises it once its hello is accepted. Lowering it later would be too late: the
  // upgrade's request hooks run while the first frames already stream in.
  await app.register(websocket, { options: { maxPayload: LIMITS.maxFrameBeforeHelloBytes } });
  // Every route: at most `requestsPerMinutePerIp` per client IP (routes may set tighter limits).
  await app.register(rateLimit, {
    global: true,
    max: config.limits.requestsPerMinutePerIp,
    timeWindow: 60_000,
    cache: 10_000,
    keyGenerator: (req) => clientKey(req.ip),
    errorResponseBuilder: rateLimited('requests from this address'),
  });
  installSessions(app, sessions);

  const host = {
    log,
    heartbeatMs: config.heartbeatMs,
    helloTimeoutMs: config.helloTimeoutMs,
    domain,
    originAllowed: (origin: string, requestHost: string | undefined) => allowedHosts(publicHosts, requestHost).includes(origin.toLowerCase()),
    capacityOf: (slots: number) => scheduler.capacityOf(slots),
    now: () => clock.now(),
    async authorize(address: string) {
      // Its record as the cluster knows it (another gateway may have proven it wrong meanwhile).
      await trust.book
        .reload(address)
        .catch((err: unknown) => log.warn({ err, node: address }, 'could not reread the node’s reputation; using this gateway’s copy'));
      if (trust.book.isRefused(address)) {
        throw new ReputationRefusedError(`Node ${address} was proven wrong ${trust.book.get(address).invalid} times; this gateway no longer gives it work.`);
      }
      await ledger?.checkStake(address);
    },
    onReady(s: NodeSession) {
      registry.add(s);
      trust.book.connected(s.address);
      scheduler.addSession(s);
      log.info({ node: s.address, session: s.id, slots: s.capabilities.slots }, 'node connected');
    },
    onResults(s: NodeSession, results: Parameters<JobManager['onResults']>[1]) {
      for (const r of results) registry.count(s.address, r.status === 'ok');
      const forJobs = availability ? availability.onResults(s, results) : results;
      if (forJobs.length > 0) jobs.onResults(s, forJobs);
    },
    onDrain(s: NodeSession) {
      log.info({ node: s.address, session: s.id }, 'node draining');
    },
    onStay(s: NodeSession) {
      log.info({ node: s.address, session: s.id }, 'a node asked to move stayed (the other gateway is not on its list?); it gets work here again');
      scheduler.resume(s);
    },
    onClose(s: NodeSession) {
      scheduler.removeSession(s);
      registry.remove(s);
      trust.book.disconnected(s.address);
      log.info({ node: s.address, session: s.id }, 'node disconnected');
    },
  };

  // The API, one plugin per resource (api/); every route is listed in api/openapi.ts.
  // Uploads in progress are written here (on the data directory's file system, so that the
  // embedded store can move them into place); what a crash left is removed at start.
  const uploads = join(resolve(config.dataDir), 'tmp', 'uploads');
  rmSync(uploads, { recursive: true, force: true });
  mkdirSync(uploads, { recursive: true });
  const limits = config.limits;
  await app.register(systemApi, {
    identity: { ...domain, protocol: PROTOCOL_VERSION, publicUrls: config.publicUrls },
    health: () => ({
      nodes: registry.sessions.size,
      activeJobs: jobs.activeJobs,
      queued: jobs.queuedTasks(),
      ...(member ? { cluster: { incarnation: member.incarnation, settler: member.settling } } : {}),
    }),
    problem: () => member?.problem ?? ledger?.problem,
    metrics: metrics.registry,
  });
  await app.register(authApi, { sessions, signInsPerMinutePerIp: limits.signInsPerMinutePerIp });
  await app.register(nodesApi, { host, views: () => registry.views(), nodeConnectionsPerIp: limits.nodeConnectionsPerIp });
  await app.register(blobsApi, { store, maxBlobBytes: config.maxBlobBytes, blobBytesPerAccount: limits.blobBytesPerAccount, tmpDir: uploads });
  await app.register(jobsApi, { jobs, events, intake, limits, ...(member ? { cluster: member } : {}) });
  await app.register(ledgerApi, { ledger });
  await app.register(trustApi, {
    trust,
    store,
    capabilitiesOf: (a) => registry.capabilitiesOf(a),
  });
  await app.register(availabilityApi, { availability });
  await app.register(webApi, { stats: { nodes: () => registry.views(), queued: () => jobs.queuedTasks(), activeJobs: () => jobs.activeJobs } });

  // One order to start; the reverse to stop (lifecycle.ts). Stopping: the HTTP server and node
  // sessions first, then the timers, settlement, the scheduler before the job manager (so no
  // lease is lost into a stopped manager), the job manager's last writes, then trust and the registry.
  await parts.start([
    { name: 'registry', start: () => registry.start(), stop: () => registry.stop() },
    { name: 'trust', start: () => trust.start(), stop: () => trust.stop() },
    { name: 'intake', stop: () => intake.stop() },
    // The cluster lease ends after the job manager's last writes (stopped before it).
    ...(member ? [{ name: 'cluster', start: () => member.start(), stop: () => member.stop() }] : []),
    { name: 'jobs', start: () => jobs.start(), stop: () => jobs.stop() },
    { name: 'scheduler', start: () => scheduler.start(), stop: () => scheduler.stop() },
    { name: 'events', start: () => events.start(), stop: () => events.stop() },
    ...(ledger ? [{ name: 'settlement', start: () => ledger!.start() }] : []),
    ...(availability ? [{ name: 'availability', start: () => availability!.start(), stop: () => availability!.stop() }] : []),
    // A node that says nothing for three heartbeat periods is gone, even if its socket looks open
    // (a hung process, a dead network path): close it so its leases go back to the queue.
    every('silent nodes', config.heartbeatMs, () => {
      const now = clock.now();
      for (const s of registry.sessions.values()) {
        if (now - s.lastSeenAt > 3 * config.heartbeatMs) {
          log.warn({ node: s.address, session: s.id, silentMs: now - s.lastSeenAt }, 'node silent; closing its session');
          s.terminate();
        }
      }
    }),
    // A node that unbonds below the minimum stake after connecting stops getting work.
    ...(ledger
      ? [
          every('chain probe', CHAIN_PROBE_EVERY_MS, () => void ledger!.probe()),
          every('stake check', config.stakeCheckMs, () => {
            for (const s of registry.sessions.values()) {
              ledger!.checkStake(s.address).catch((err: unknown) => {
                if (!(err instanceof StakeRequiredError)) return; // the chain is unreachable: check again later
                log.warn({ node: s.address }, 'node fell below the minimum stake; closing its session');
                s.sendError(err.code, err.shortMessage);
                s.close(4005, 'stake_required');
              });
            }
          }),
        ]
      : []),
    {
      name: 'http',
      async start() {
        try {
          await app.listen({ port: config.port, host: config.host });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(config.host, config.port, err);
          throw err;
        }
      },
      async stop() {
        for (const s of registry.sessions.values()) s.close(1001, 'gateway shutting down');
        await app.close();
      },
    },
  ]);
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const hostForUrl = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${hostForUrl}:${port}`;
  selfUrl ??= url;
  log.info({ url }, 'gateway listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    wsUrl: `ws://${hostForUrl}:${port}/v1/nodes/ws`,
    port,
    config,
    ledger,
    identity: domain,
    routes,
    close() {
      closing ??= parts.stop();
      return closing;
    },
  };
}
