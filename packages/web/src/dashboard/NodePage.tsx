/**
 * A provider's own page (`#/nodes/<address>`): what it offers and how it is doing (`GET
 * /v1/nodes`), its record of checked results and the signed credential of it (`GET
 * /v1/nodes/:address/credential`), its stake and its device token — owner, kind, share holders
 * when split — (read from the chain), its statement — every
 * settlement payout (`GET /v1/ledger/payouts/:address`) — and the evidence against it (`GET
 * /v1/nodes/:address/evidence`). Sections without data behind them say why, never guess.
 */
import { useState } from 'react';
import { getDeviceCredential, getNodeCredential, getPayouts, listEvidence, listNodes } from '@lode/sdk';
import type { EvidenceView, NodeView, PayoutsView } from '@lode/protocol';
import type { Hex } from 'viem';
import type { GetDeviceReturnType } from '@lode/ledger/client';
import type { LedgerInfo } from '../agent/ledger.js';
import { errorText, readClient } from '../shared/client.js';
import {
  ago,
  countdown,
  download,
  formatDuration,
  formatLodeExact,
  formatLodeShort,
  formatNumber,
  formatPrice,
  LEDGER_PENDING,
  shortAddress,
} from '../shared/format.js';
import { usePoll } from './hooks.js';
import { useLedgerInfo } from './ledger.js';
import { reputationText } from './reputation.js';

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

export function NodePage({ address: raw }: { address: string }) {
  const address = raw.toLowerCase();
  const valid = ADDRESS.test(address);
  const nodes = usePoll((signal) => (valid ? listNodes(readClient, { signal }) : Promise.resolve([])), 3000, [address]);
  const ledger = useLedgerInfo(30_000).data;
  const node = nodes.data?.find((n) => n.address.toLowerCase() === address);

  if (!valid) {
    return (
      <section>
        <BackLink />
        <h1>Node</h1>
        <div className="notice bad">“{raw}” is not a node address (0x and 40 hex digits).</div>
      </section>
    );
  }
  return (
    <section data-testid="node-page">
      <BackLink />
      <div className="row spread">
        <h1 className="break">
          Node <span className="mono">{shortAddress(address)}</span>
        </h1>
        {node && <span className={`badge ${node.online ? 'online' : 'offline'}`}>{node.online ? 'online' : 'offline'}</span>}
      </div>
      <p className="mono small muted break" style={{ marginTop: 0 }}>
        {address}
      </p>
      {nodes.error !== undefined && <div className="notice bad">Could not list nodes: {errorText(nodes.error)}</div>}
      {nodes.data === undefined ? (
        <p className="muted">Loading…</p>
      ) : node ? (
        <Capabilities node={node} />
      ) : (
        <div className="notice warn">This gateway has never seen a node with this address; what the ledger and the evidence say about it follows.</div>
      )}
      <ReputationPanel address={address} node={node} />
      {ledger === undefined ? null : ledger === null ? (
        <div className="panel" data-testid="node-statement">
          <h2>Stake and statement</h2>
          <p className="slot">The stake and the settlement statement {LEDGER_PENDING}: this gateway runs without a ledger, so its jobs are free.</p>
        </div>
      ) : (
        <>
          <StakePanel info={ledger} address={address} />
          <DevicePanel info={ledger} address={address} />
          <Statement address={address} />
        </>
      )}
      <Evidence address={address} />
    </section>
  );
}

function BackLink() {
  return (
    <p>
      <a href="#/nodes">← Nodes</a>
    </p>
  );
}

function Capabilities({ node: n }: { node: NodeView }) {
  const c = n.capabilities;
  return (
    <div className="panel" data-testid="node-capabilities">
      <h2>Capabilities and status</h2>
      <dl className="facts">
        <dt>State</dt>
        <dd>
          {n.online ? `online${n.connectedAt ? ` since ${ago(n.connectedAt)}` : ''}` : `offline, last seen ${ago(n.lastSeenAt)}`}
          {n.online && n.sessionId ? <span className="muted small"> · session {n.sessionId}</span> : null}
        </dd>
        <dt>Device</dt>
        <dd>
          {c.kind} · {c.os}/{c.arch} · {c.cores} core{c.cores === 1 ? '' : 's'} · {formatNumber(c.memoryMiB)} MiB
        </dd>
        <dt>Task slots</dt>
        <dd>
          {c.slots} ({n.running} running now)
        </dd>
        <dt>Benchmark</dt>
        <dd>{formatNumber(c.benchmark)} iterations/ms of the WASM kernel</dd>
        <dt>Price</dt>
        <dd data-testid="node-price">{formatPrice(c.pricePerTask, c.pricePerFuel)}</dd>
        <dt>Work done</dt>
        <dd>
          {formatNumber(n.completed)} tasks done · {formatNumber(n.failed)} failed
        </dd>
        <dt>Agent</dt>
        <dd className="small">{c.agent}</dd>
      </dl>
    </div>
  );
}

function ReputationPanel({ address, node }: { address: string; node: NodeView | undefined }) {
  const r = node?.reputation;
  const said = r ? reputationText(r) : undefined;
  return (
    <div className="panel" data-testid="node-reputation">
      <div className="row spread">
        <h2>Reputation</h2>
        <div className="row">
          <DeviceCredentialButton address={address} />
          <CredentialButton address={address} />
        </div>
      </div>
      {!node ? (
        <p className="slot">No record: this gateway has not seen the node.</p>
      ) : !r || !said ? (
        <p className="slot">Not reported by this gateway (it does not check results).</p>
      ) : (
        <>
          <p>
            <span className={`badge ${said.tone}`} data-testid="node-reputation-text">
              {said.text}
            </span>
          </p>
          <p className="small muted">{said.explain}</p>
          <dl className="facts">
            <dt>Checked results right</dt>
            <dd>
              {formatNumber(r.validated)} ({formatNumber(r.consecutiveValid)} in a row)
            </dd>
            <dt>Proven wrong</dt>
            <dd>{formatNumber(r.invalid)}</dd>
            <dt>Status</dt>
            <dd>
              {r.refused ? 'refused: no more work from this gateway' : r.probation ? 'on probation: its results are replicated' : 'trusted at its credibility'}
            </dd>
            <dt>Time connected</dt>
            <dd>{formatDuration(r.uptimeMs)}</dd>
          </dl>
        </>
      )}
      <p className="small muted" style={{ marginBottom: 0 }}>
        The credential is this record signed by the gateway (EIP-712 <span className="mono">NodeReputation</span>), for the node to show another gateway. The
        W3C credential states the device's capabilities, checked results, offences and availability as a Verifiable Credential (a JWT over did:pkh) that anyone
        verifies offline: <span className="mono">lode credential verify lode-device-….jwt</span>.
      </p>
    </div>
  );
}

/** Downloads the device's W3C Verifiable Credential (a JWT) and says what it states. */
function DeviceCredentialButton({ address }: { address: string }) {
  return (
    <DownloadButton label="W3C credential" busyLabel="Fetching…" testId="download-device-credential" doneTestId="device-credential-done">
      {async () => {
        const vc = await getDeviceCredential(readClient, { address: address as Hex });
        download(`lode-device-${address}.jwt`, `${vc.jwt}\n`, 'application/jwt');
        const a = vc.subject.availability;
        const availability = a ? `available ${Math.round(a.score * 100)} % over ${a.epochs} epoch(s)` : 'no availability epochs yet';
        return `${availability}; valid until ${new Date(vc.expiresAt * 1000).toLocaleDateString()}`;
      }}
    </DownloadButton>
  );
}

/** Downloads the signed credential as JSON. */
function CredentialButton({ address }: { address: string }) {
  return (
    <DownloadButton label="Download reputation credential" busyLabel="Signing…" testId="download-credential" doneTestId="credential-done">
      {async () => {
        const credential = await getNodeCredential(readClient, { address: address as Hex });
        download(`lode-reputation-${address}.json`, `${JSON.stringify(credential, null, 2)}\n`, 'application/json');
        const until = new Date(Number(credential.message.expiresAt) * 1000).toLocaleDateString();
        return `signed by ${shortAddress(credential.message.gateway)}, valid until ${until}`;
      }}
    </DownloadButton>
  );
}

/** A button that runs `children` (fetch and download something), then shows what it returned, or the error. */
function DownloadButton(p: { label: string; busyLabel: string; testId: string; doneTestId: string; children: () => Promise<string> }) {
  const [state, setState] = useState<{ busy: boolean; error?: string; done?: string }>({ busy: false });
  const run = async () => {
    setState({ busy: true });
    try {
      setState({ busy: false, done: await p.children() });
    } catch (err) {
      setState({ busy: false, error: errorText(err) });
    }
  };
  return (
    <div className="row">
      {state.error && (
        <span className="small" style={{ color: 'var(--bad)' }}>
          {state.error}
        </span>
      )}
      {state.done && (
        <span className="small muted" data-testid={p.doneTestId}>
          {state.done}
        </span>
      )}
      <button type="button" onClick={() => void run()} disabled={state.busy} data-testid={p.testId}>
        {state.busy ? p.busyLabel : p.label}
      </button>
    </div>
  );
}

function StakePanel({ info, address }: { info: LedgerInfo; address: string }) {
  const { data, error } = usePoll(async () => (await import('../agent/ledger.js')).stakeStatus(info, address as Hex), 15_000, [
    info.contracts.staking,
    address,
  ]);
  return (
    <div className="panel">
      <h2>Stake</h2>
      {error !== undefined && <div className="notice bad">Could not read the stake from the chain: {errorText(error)}</div>}
      {!data ? (
        <p className="muted">Reading the chain…</p>
      ) : (
        <div className="tiles" style={{ marginBottom: 0 }}>
          <div className="tile">
            <div className="label">Own stake</div>
            <div className="value" data-testid="node-page-stake">
              {formatLodeShort(data.staked)}
            </div>
            <div className="hint">{data.eligible ? 'eligible: at least the minimum' : `below the minimum of ${formatLodeShort(data.minStake)}`}</div>
          </div>
          <div className="tile">
            <div className="label">Held</div>
            <div className="value">{formatLodeShort(data.balance)}</div>
            <div className="hint">LODE in the account, not staked</div>
          </div>
        </div>
      )}
    </div>
  );
}

/** The node as a device: its token, owner, kind, and when split the share holders (read from DeviceRegistry). */
function DevicePanel({ info, address }: { info: LedgerInfo; address: string }) {
  const { data, error } = usePoll(async () => ({ device: await (await import('./chain.js')).deviceOf(info, address as Hex) }), 15_000, [
    info.contracts.registry,
    address,
  ]);
  const d = data?.device;
  return (
    <div className="panel" data-testid="node-device">
      <h2>Device</h2>
      {error !== undefined && <div className="notice bad">Could not read the device from the chain: {errorText(error)}</div>}
      {!data ? (
        <p className="muted">Reading the chain…</p>
      ) : !d ? (
        <p className="slot" data-testid="device-unregistered">
          Not registered as a device: its payouts go to the node's own account. Its owner registers it with{' '}
          <span className="mono">lode device register --node &lt;its data dir&gt;</span>.
        </p>
      ) : (
        <>
          <dl className="facts">
            <dt>Owner</dt>
            <dd className={d.split ? undefined : 'mono break'} data-testid="device-owner">
              {d.split ? `split into ${d.split.totalShares.toLocaleString()} shares` : d.owner}
            </dd>
            <dt>Kind</dt>
            <dd>{d.kind}</dd>
            <dt>Joined</dt>
            <dd>{ago(Number(d.joinedAt) * 1000)}</dd>
            <dt>Payouts go to</dt>
            <dd className="mono break">
              {d.payee}
              <span className="muted small"> ({d.split ? 'the share contract' : 'the owner'})</span>
            </dd>
            <dt>Token</dt>
            <dd className="mono small break" title="the node's address as a number">
              {info.contracts.registry} #{d.deviceId.toString()}
            </dd>
          </dl>
          {d.split && <ShareTable split={d.split} />}
          <p className="small muted" style={{ marginBottom: 0 }}>
            The device token carries the node's income: selling it sells the income, while the stake and its slashes stay with the node's key.
          </p>
        </>
      )}
    </div>
  );
}

function ShareTable({ split: s }: { split: NonNullable<GetDeviceReturnType['split']> }) {
  const percent = (shares: bigint) => `${(Number((shares * 1_000_000n) / s.totalShares) / 10_000).toLocaleString()} %`;
  return (
    <>
      <p className="small muted">
        Shares <span className="mono">{s.shares}</span>: income so far {formatLodeExact(s.incomeTotal)}, shared among {s.holderCount} holder
        {s.holderCount === 1 ? '' : 's'} pro rata to the wei.
      </p>
      <div className="table-wrap">
        <table data-testid="device-shares">
          <thead>
            <tr>
              <th>Holder</th>
              <th>Shares</th>
              <th>%</th>
              <th>Claimable</th>
            </tr>
          </thead>
          <tbody>
            {s.holders.map((h) => (
              <tr key={h.holder}>
                <td className="mono small">{h.holder}</td>
                <td>{h.shares.toLocaleString()}</td>
                <td>{percent(h.shares)}</td>
                <td>{formatLodeExact(h.claimable)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function Statement({ address }: { address: string }) {
  const { data, error } = usePoll((signal) => getPayouts(readClient, { address: address as Hex, signal }), 15_000, [address]);
  return (
    <div className="panel" data-testid="node-statement">
      <h2>Statement</h2>
      <p className="small muted">Every settlement batch that paid this node: what its tasks earned, the protocol fee, and what it claims.</p>
      {error !== undefined && <div className="notice bad">Could not read the payouts: {errorText(error)}</div>}
      {!data ? <p className="muted">Loading…</p> : <StatementBody statement={data} />}
    </div>
  );
}

function StatementBody({ statement: s }: { statement: PayoutsView }) {
  const t = s.totals;
  const unclaimed = BigInt(t.net) - BigInt(t.claimed);
  return (
    <>
      <div className="tiles">
        <div className="tile">
          <div className="label">Earned</div>
          <div className="value" data-testid="statement-net">
            {formatLodeExact(t.net)}
          </div>
          <div className="hint">net of {formatLodeExact(t.fee)} fee</div>
        </div>
        <div className="tile">
          <div className="label">Claimed</div>
          <div className="value">{formatLodeExact(t.claimed)}</div>
          <div className="hint">{unclaimed > 0n ? `${formatLodeExact(unclaimed)} not yet` : 'nothing left to claim'}</div>
        </div>
        <div className="tile">
          <div className="label">Paid tasks</div>
          <div className="value">{formatNumber(t.tasks)}</div>
          <div className="hint">
            in {s.payouts.length} batch{s.payouts.length === 1 ? '' : 'es'}
          </div>
        </div>
      </div>
      {s.payouts.length === 0 ? (
        <p className="slot">No payout yet: paid tasks are settled in batches every few seconds to hours, depending on the gateway.</p>
      ) : (
        <div className="table-wrap">
          <table data-testid="payouts">
            <thead>
              <tr>
                <th>Batch</th>
                <th>Status</th>
                <th>Tasks</th>
                <th>Gross</th>
                <th>Fee</th>
                <th>Net</th>
                <th>Claimable</th>
                <th>Claimed</th>
                <th>Settled</th>
                <th>Transaction</th>
              </tr>
            </thead>
            <tbody>
              {s.payouts.map((p) => (
                <tr key={p.batch}>
                  <td>
                    {p.batch}
                    {p.chainBatchId !== null && <span className="muted small"> · chain {p.chainBatchId}</span>}
                  </td>
                  <td>
                    <span className={`badge ${p.status === 'posted' ? 'ok' : p.status === 'failed' ? 'failed' : 'queued'}`}>{p.status}</span>
                  </td>
                  <td>{p.tasks}</td>
                  <td>{formatLodeExact(p.gross)}</td>
                  <td>{formatLodeExact(p.fee)}</td>
                  <td>{formatLodeExact(p.amount)}</td>
                  <td>{countdown(p.claimableAt)}</td>
                  <td>{p.claimed ? 'yes' : 'no'}</td>
                  <td>{ago(p.createdAt)}</td>
                  <td className="mono small" title={p.txHash ?? undefined}>
                    {shortAddress(p.txHash)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function Evidence({ address }: { address: string }) {
  const { data, error } = usePoll((signal) => listEvidence(readClient, { address: address as Hex, signal }), 15_000, [address]);
  return (
    <div className="panel" data-testid="node-evidence">
      <h2>Evidence against it</h2>
      {error !== undefined && <div className="notice bad">Could not read the evidence: {errorText(error)}</div>}
      {!data ? (
        <p className="muted">Loading…</p>
      ) : data.length === 0 ? (
        <p className="muted" data-testid="no-evidence">
          None: no result of this node has been proven wrong here.
        </p>
      ) : (
        <>
          <p className="small muted">
            Each entry holds the signed statements that prove a result wrong (the node's own signed result and the gateway's decision); anyone can check it with{' '}
            <span className="mono">checkEvidence</span> from <span className="mono">@lode/protocol</span>. Its hash is what the slash on chain names.
          </p>
          <div className="table-wrap">
            <table data-testid="evidence">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Kind</th>
                  <th>Task</th>
                  <th>Slash</th>
                  <th>Hash</th>
                  <th>Transaction</th>
                  <th>Evidence</th>
                </tr>
              </thead>
              <tbody>
                {data.map((e) => (
                  <EvidenceRow key={e.hash} e={e} />
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}

const KIND: Record<EvidenceView['kind'], string> = { quorum: 'outvoted by a quorum', canary: 'failed a known-answer task' };

function EvidenceRow({ e }: { e: EvidenceView }) {
  const slash =
    e.slash === 'slashed'
      ? `slashed ${e.slashed ? formatLodeExact(e.slashed) : ''}`.trim()
      : e.slash === 'pending'
        ? 'slash pending'
        : e.slash === 'failed'
          ? `slash failed${e.error ? `: ${e.error}` : ''}`
          : 'no ledger to slash on';
  return (
    <tr>
      <td>{ago(e.createdAt)}</td>
      <td>{KIND[e.kind]}</td>
      <td>
        <a href={`#/jobs/${encodeURIComponent(e.jobId)}`} className="mono">
          {e.jobId.slice(0, 8)}
        </a>{' '}
        #{e.index}
      </td>
      <td className="wrap small">{slash}</td>
      <td className="mono small" title={e.hash}>
        {shortAddress(e.hash)}
      </td>
      <td className="mono small" title={e.txHash ?? undefined}>
        {shortAddress(e.txHash)}
      </td>
      <td>
        <button type="button" onClick={() => download(`lode-evidence-${e.hash}.json`, `${JSON.stringify(e.evidence, null, 2)}\n`, 'application/json')}>
          Download
        </button>
      </td>
    </tr>
  );
}
