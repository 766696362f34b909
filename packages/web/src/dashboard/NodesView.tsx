/**
 * Provider nodes as `GET /v1/nodes` knows them. Reputation, earnings and stake arrive with the
 * reputation and ledger issues: their columns are there, empty and labelled, never guessed.
 */
import { listNodes } from '@lode/sdk';
import type { NodeView } from '@lode/protocol';
import { errorText, readClient } from '../shared/client.js';
import { ago, formatLode, formatNumber } from '../shared/format.js';
import { usePoll } from './hooks.js';
import { nodeMoney, useLedgerInfo, type NodeMoney } from './ledger.js';

export function NodesView() {
  const { data: nodes, error } = usePoll((signal) => listNodes(readClient, { signal }), 3000);
  const online = nodes?.filter((n) => n.online).length ?? 0;
  const ledger = useLedgerInfo(30_000).data;
  const addresses = (nodes ?? []).map((n) => n.address).join(',');
  const money = usePoll(
    async () => (ledger && addresses ? nodeMoney(ledger, addresses.split(',')) : undefined),
    15_000,
    [ledger?.contracts.staking, addresses],
  ).data;
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
            {online} online of {nodes.length} known.{' '}
            {ledger === null
              ? 'Reputation, earnings and stake appear once reputation and the ledger are enabled.'
              : 'Stake is read from the chain, earnings are settled payouts (net of the fee); reputation arrives with result verification.'}
          </p>
          <div className="panel table-wrap" style={{ padding: 0 }}>
            <table data-testid="nodes">
              <thead>
                <tr>
                  <th>Node</th>
                  <th>Kind</th>
                  <th>State</th>
                  <th>Slots</th>
                  <th>Running</th>
                  <th>Done</th>
                  <th>Failed</th>
                  <th>Cores</th>
                  <th>Memory</th>
                  <th>Benchmark</th>
                  <th>Price/task</th>
                  <th>Reputation</th>
                  <th>Earnings</th>
                  <th>Stake</th>
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
        {n.address.slice(0, 10)}…{n.address.slice(-4)}
      </td>
      <td>{c.kind}</td>
      <td>
        <span className={`badge ${n.online ? 'online' : 'offline'}`}>{n.online ? 'online' : 'offline'}</span>
      </td>
      <td>{c.slots}</td>
      <td>{n.running}</td>
      <td>{formatNumber(n.completed)}</td>
      <td>{formatNumber(n.failed)}</td>
      <td>{c.cores}</td>
      <td>{formatNumber(c.memoryMiB)} MiB</td>
      <td>{formatNumber(c.benchmark)} it/ms</td>
      <td>{c.pricePerTask}</td>
      <td className="slot" title="arrives with reputation">—</td>
      {money ? (
        <>
          <td data-testid="node-earned">{formatLode(money.earned, 2)}</td>
          <td data-testid="node-stake">{formatLode(money.stake, 2)}</td>
        </>
      ) : (
        <>
          <td className="slot" title={ledgerOn ? 'loading' : 'appears once the ledger is enabled'}>—</td>
          <td className="slot" title={ledgerOn ? 'loading' : 'appears once the ledger is enabled'}>—</td>
        </>
      )}
      <td className="small">{c.agent}</td>
      <td>{n.online ? 'now' : ago(n.lastSeenAt)}</td>
    </tr>
  );
}
