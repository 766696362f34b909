/**
 * Connected node sessions and the record of every node ever seen.
 * Node statistics are persisted every few seconds (and at shutdown), not per task.
 */
import type { NodeView } from '@lode/protocol';
import type { Logger } from 'pino';
import type { NodeRecord, Store } from '../store/types.js';
import type { NodeSession } from './nodeSession.js';

export class NodeRegistry {
  /** Online sessions by id. One address may hold several sessions (several processes). */
  readonly sessions = new Map<string, NodeSession>();
  private readonly known = new Map<string, NodeRecord>();
  private readonly dirty = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly now: () => number,
    /** The node's reputation for its view (from the trust service). */
    private readonly reputationOf?: (address: string) => NodeView['reputation'],
  ) {}

  async start(): Promise<void> {
    for (const n of await this.store.listNodes()) this.known.set(n.address, n);
    this.timer = setInterval(() => void this.persist(), 5000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.persist();
  }

  add(s: NodeSession): void {
    this.sessions.set(s.id, s);
    const prev = this.known.get(s.address);
    const now = this.now();
    this.known.set(s.address, {
      address: s.address,
      capabilities: s.capabilities,
      completed: prev?.completed ?? 0,
      failed: prev?.failed ?? 0,
      firstSeenAt: prev?.firstSeenAt ?? now,
      lastSeenAt: now,
    });
    this.dirty.add(s.address);
  }

  remove(s: NodeSession): void {
    this.sessions.delete(s.id);
    const rec = this.known.get(s.address);
    if (rec) {
      rec.lastSeenAt = this.now();
      this.dirty.add(s.address);
    }
  }

  /** Counts a finished task for a node. */
  count(address: string, ok: boolean): void {
    const rec = this.known.get(address);
    if (!rec) return;
    if (ok) rec.completed++;
    else rec.failed++;
    this.dirty.add(address);
  }

  /** What the node declared in its latest hello here; undefined for a node this gateway has not seen. */
  capabilitiesOf(address: string): NodeRecord['capabilities'] | undefined {
    return this.known.get(address)?.capabilities;
  }

  views(): NodeView[] {
    const online = new Map<string, NodeSession[]>();
    for (const s of this.sessions.values()) {
      const list = online.get(s.address) ?? [];
      list.push(s);
      online.set(s.address, list);
    }
    const out: NodeView[] = [];
    for (const rec of this.known.values()) {
      const ss = online.get(rec.address) ?? [];
      out.push({
        address: rec.address,
        sessionId: ss[0]?.id ?? null,
        online: ss.length > 0,
        capabilities: ss[0]?.capabilities ?? rec.capabilities,
        running: ss.reduce((n, s) => n + s.inflight, 0),
        completed: rec.completed,
        failed: rec.failed,
        connectedAt: ss[0]?.connectedAt ?? null,
        lastSeenAt: ss.length ? this.now() : rec.lastSeenAt,
        ...(this.reputationOf ? { reputation: this.reputationOf(rec.address) } : {}),
      });
    }
    return out.sort((a, b) => Number(b.online) - Number(a.online) || a.address.localeCompare(b.address));
  }

  private async persist(): Promise<void> {
    if (this.dirty.size === 0) return;
    const rows = [...this.dirty].map((a) => this.known.get(a)!).filter(Boolean);
    this.dirty.clear();
    try {
      await this.store.upsertNodes(rows.map((r) => ({ ...r })));
    } catch (err) {
      this.log.warn({ err }, 'could not persist node records; will retry');
      for (const r of rows) this.dirty.add(r.address);
    }
  }
}
