/**
 * Provider nodes as `GET /v1/nodes` knows them, with their record of checked results
 * (`NodeView.reputation`), and with a ledger their stake (read from the chain) and earnings
 * (settled payouts). A column without data behind it is labelled, never guessed. Each node
 * links to its own page (`#/nodes/<address>`).
 */
import { listNodes } from '@lode/sdk';
import type { NodeView } from '@lode/protocol';
import { errorText, readClient } from '../shared/client.js';
import { ago, formatLodeShort, formatNumber, formatPrice } from '../shared/format.js';
import { usePoll } from './hooks.js';
import { nodeMoney, useLedgerInfo, type NodeMoney } from './ledger.js';
import { reputationText } from './reputation.js';

export function NodesView() {
  const { data: nodes, error } = usePoll((signal) => listNodes(readClient, { signal }), 3000);
  const online = nodes?.filter((n) => n.online).length ?? 0;
  const ledger = useLedgerInfo(30_000).data;
  const addresses = (nodes ?? []).map((n) => n.address).join(',');
  const money = usePoll(async () => (ledger && addresses ? nodeMoney(ledger, addresses.split(',')) : undefined), 15_000, [
    ledger?.contracts.staking,
    addresses,
  ]).data;
  return (
    <section>
      <h1>Nodes</h1>
      {error !== undefined && <div className="notice bad">Could not list nodes: {errorText(error)}</div>}
      {!nodes ? (
        <p className="muted">Loading…</p>
      ) : nodes.length === 0 ? (
        <p className="muted">
          No node has joined yet. Start one with <code>lode node</code>, or <a href="/contribute">contribute this browser</a>.
        </p>
      ) : (
        <>
          <p className="muted">
            {online} online of {nodes.length} known. Reputation is each node's record of checked results here: its credibility (the chance its result is right)
            and results found right ✓ or proven wrong ✗; a newcomer is on probation until it has one right, and a node proven wrong too often is refused.{' '}
            {ledger === null
              ? 'Earnings and stake appear once the ledger is enabled.'
              : 'Stake is read from the chain, earnings are settled payouts (net of the fee).'}{' '}
            Open a node for its statement and the evidence against it.
          </p>
          <div className="panel table-wrap" style={{ padding: 0 }}>
            <table data-testid="nodes">
              <thead>
                <tr>
                  <th>Node</th>
                  <th>Kind</th>
                  <th>State</th>
                  <th>Reputation</th>
                  <th>Price</th>
                  <th>Stake</th>
                  <th>Earnings</th>
                  <th title="tasks running now / task slots">Busy</th>
                  <th>Done</th>
                  <th>Failed</th>
                  <th>Device</th>
                  <th>Benchmark</th>
                  <th>Agent</th>
                  <th>Last seen</th>
                </tr>
              </thead>
              <tbody>
                {nodes.map((n) => (
                  <NodeRow key={n.address} node={n} money={money?.get(n.address.toLowerCase())} ledgerOn={!!ledger} />
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

function NodeRow({ node: n, money, ledgerOn }: { node: NodeView; money: NodeMoney | undefined; ledgerOn: boolean }) {
  const c = n.capabilities;
  return (
    <tr data-node={n.address}>
      <td className="mono" title={n.address}>
        <a href={`#/nodes/${n.address}`} data-testid="node-link">
          {n.address.slice(0, 10)}…{n.address.slice(-4)}
        </a>
      </td>
      <td>{c.kind}</td>
      <td>
        <span className={`badge ${n.online ? 'online' : 'offline'}`}>{n.online ? 'online' : 'offline'}</span>
      </td>
      <ReputationCell node={n} />
      <td title={`${c.pricePerTask} wei per task${c.pricePerFuel ? `, ${c.pricePerFuel} wei per unit of fuel` : ''}`}>
        {formatPrice(c.pricePerTask, c.pricePerFuel)}
      </td>
      {money ? (
        <>
          <td data-testid="node-stake">{formatLodeShort(money.stake)}</td>
          <td data-testid="node-earned">{formatLodeShort(money.earned)}</td>
        </>
      ) : (
        <>
          <td className="slot" title={ledgerOn ? 'loading' : 'appears once the ledger is enabled'}>
            —
          </td>
          <td className="slot" title={ledgerOn ? 'loading' : 'appears once the ledger is enabled'}>
            —
          </td>
        </>
      )}
      <td>
        {n.running} / {c.slots}
      </td>
      <td>{formatNumber(n.completed)}</td>
      <td>{formatNumber(n.failed)}</td>
      <td>
        {c.cores} core{c.cores === 1 ? '' : 's'} · {formatNumber(c.memoryMiB)} MiB
      </td>
      <td>{formatNumber(c.benchmark)} it/ms</td>
      <td className="small">{c.agent}</td>
      <td>{n.online ? 'now' : ago(n.lastSeenAt)}</td>
    </tr>
  );
}

function ReputationCell({ node }: { node: NodeView }) {
  if (!node.reputation) {
    return (
      <td className="slot" title="this gateway does not report reputation (it does not check results)">
        not reported
      </td>
    );
  }
  const r = reputationText(node.reputation);
  return (
    <td title={r.explain} data-testid="node-reputation-cell">
      <span className={`badge ${r.tone}`}>{r.text}</span>
    </td>
  );
}
