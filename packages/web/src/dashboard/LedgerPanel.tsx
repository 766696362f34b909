/**
 * Ledger and governance: where the gateway settles and on what terms (`GET /v1/ledger`), the
 * token balances of the treasury, the escrow and the staking pool, the latest settlement
 * batches (`GET /v1/ledger/batches`), and the governor's proposals with their votes (the last
 * two read from the chain through the gateway's `/rpc`, by `chain.ts`, loaded on demand).
 */
import type { LedgerInfo } from '../agent/ledger.js';
import { listBatches } from '@lode/sdk';
import { errorText, readClient } from '../shared/client.js';
import { ago, countdown, formatDuration, formatLode, formatLodeExact, formatLodeShort, shortAddress } from '../shared/format.js';
import type { ProposalSummary } from './chain.js';
import { usePoll } from './hooks.js';
import { useLedgerInfo } from './ledger.js';

/** Batches and proposals listed (the newest). */
const LISTED = 10;

export function LedgerPanel() {
  const { data: info, error } = useLedgerInfo();
  return (
    <div className="panel" data-testid="ledger">
      <h2>Ledger and governance</h2>
      {error !== undefined && <div className="notice bad">Could not read the ledger: {errorText(error)}</div>}
      {info === undefined ? (
        <p className="muted">Loading…</p>
      ) : info === null ? (
        <p className="slot">
          This gateway runs without a ledger: jobs are free and nothing is settled. Balances, stakes, settlements, the treasury and the protocol's parameters
          appear once the ledger is enabled.
        </p>
      ) : (
        <LedgerFacts info={info} />
      )}
    </div>
  );
}

function LedgerFacts({ info }: { info: LedgerInfo }) {
  const p = info.params;
  const s = info.settlement;
  return (
    <>
      <div className="tiles">
        <div className="tile">
          <div className="label">Unsettled</div>
          <div className="value">{formatLodeShort(s.unsettledAmount)}</div>
          <div className="hint">{s.unsettledReceipts.toLocaleString()} receipts waiting for a batch</div>
        </div>
        <div className="tile">
          <div className="label">Batches</div>
          <div className="value">{s.batches.posted.toLocaleString()}</div>
          <div className="hint">
            posted · {s.batches.prepared} prepared · {s.batches.failed} failed
          </div>
        </div>
        <div className="tile">
          <div className="label">Protocol fee</div>
          <div className="value">{(p.feeBps / 100).toLocaleString()}%</div>
          <div className="hint">to the treasury</div>
        </div>
        <div className="tile">
          <div className="label">Minimum stake</div>
          <div className="value">{formatLode(p.minStake, 2)}</div>
          <div className="hint">slashing {(p.slashBps / 100).toLocaleString()}% of it</div>
        </div>
      </div>
      <dl className="facts">
        <dt>Chain</dt>
        <dd>
          {info.mode === 'embedded' ? 'embedded in the gateway' : 'external'} · chain id {info.chainId} · JSON-RPC{' '}
          <span className="mono">{info.resolvedRpcUrl}</span>
          {info.faucet ? ' · faucet on' : ''}
        </dd>
        <dt>Settlement</dt>
        <dd>
          every {formatDuration(p.settlementPeriod * 1000)}, claimable after a challenge window of {formatDuration(p.challengeWindow * 1000)}
        </dd>
        <dt>Unbonding</dt>
        <dd>{formatDuration(p.unbondingPeriod * 1000)}</dd>
        <dt>Availability</dt>
        <dd>
          epochs of {formatDuration(p.epochLength * 1000)}, {p.challengeRate} challenge{p.challengeRate === 1 ? '' : 's'} per device each, rewards up to{' '}
          {formatLode(p.availabilityPool, 2)} per epoch
        </dd>
        <dt>Gateway account</dt>
        <dd className="mono">{info.gateway}</dd>
        <dt>Treasury</dt>
        <dd className="mono">{p.treasury}</dd>
        <dt>Token</dt>
        <dd className="mono">{info.contracts.token}</dd>
        <dt>Staking</dt>
        <dd className="mono">{info.contracts.staking}</dd>
        <dt>Job escrow</dt>
        <dd className="mono">{info.contracts.escrow}</dd>
        <dt>Device registry</dt>
        <dd className="mono">{info.contracts.registry}</dd>
        <dt>Governor</dt>
        <dd className="mono">{info.contracts.governor}</dd>
        <dt>Timelock</dt>
        <dd className="mono">{info.contracts.timelock}</dd>
      </dl>
      <Balances info={info} />
      <Batches posted={s.batches.posted} />
      <Proposals info={info} />
    </>
  );
}

/** Chain reads restart when the chain or its contracts change, not on every poll of `info`. */
const chainKey = (info: LedgerInfo) => [info.resolvedRpcUrl, info.contracts.token, info.contracts.governor];

function Balances({ info }: { info: LedgerInfo }) {
  const { data, error } = usePoll(async () => (await import('./chain.js')).ledgerBalances(info), 15_000, chainKey(info));
  return (
    <>
      <h3 style={{ marginTop: '1rem' }}>Balances</h3>
      {error !== undefined && <div className="notice bad">Could not read the balances from the chain: {errorText(error)}</div>}
      {!data ? (
        <p className="muted">Reading the chain…</p>
      ) : (
        <div className="tiles" data-testid="balances">
          <div className="tile">
            <div className="label">Treasury</div>
            <div className="value" data-testid="balance-treasury">
              {formatLodeShort(data.treasury)}
            </div>
            <div className="hint">fees and governance funds</div>
          </div>
          <div className="tile">
            <div className="label">In escrow</div>
            <div className="value" data-testid="balance-escrow">
              {formatLodeShort(data.escrow)}
            </div>
            <div className="hint">jobs' deposits and unclaimed payouts</div>
          </div>
          <div className="tile">
            <div className="label">Staked</div>
            <div className="value">{formatLodeShort(data.staked)}</div>
            <div className="hint">bonded and unbonding</div>
          </div>
          <div className="tile">
            <div className="label">Supply</div>
            <div className="value" title={formatLode(data.totalSupply, 0)}>
              {compactLode(data.totalSupply)}
            </div>
            <div className="hint">{formatLode(data.totalSupply, 0)} in all</div>
          </div>
        </div>
      )}
    </>
  );
}

/** "1B LODE": whole LODE in compact notation, for a tile (the exact figure goes beside it). */
function compactLode(wei: bigint): string {
  return `${Number(wei / 10n ** 18n).toLocaleString(undefined, { notation: 'compact', maximumFractionDigits: 2 })} LODE`;
}

function Batches({ posted }: { posted: number }) {
  // `posted` changes when a batch lands: read again then rather than waiting for the next poll.
  const { data, error } = usePoll((signal) => listBatches(readClient, { limit: LISTED, signal }), 15_000, [posted]);
  return (
    <>
      <h3 style={{ marginTop: '1rem' }}>Settlement batches</h3>
      {error !== undefined && <div className="notice bad">Could not list the batches: {errorText(error)}</div>}
      {!data ? (
        <p className="muted">Loading…</p>
      ) : data.batches.length === 0 ? (
        <p className="slot">No batch yet: paid tasks are settled together once a settlement period has passed.</p>
      ) : (
        <>
          <div className="table-wrap">
            <table data-testid="batches">
              <thead>
                <tr>
                  <th>Batch</th>
                  <th>Status</th>
                  <th>Receipts</th>
                  <th>Total</th>
                  <th>Fee</th>
                  <th>Created</th>
                  <th>Final</th>
                  <th>Transaction</th>
                </tr>
              </thead>
              <tbody>
                {data.batches.map((b) => (
                  <tr key={b.id} data-batch={b.id}>
                    <td>
                      {b.id}
                      {b.chainBatchId !== null && <span className="muted small"> · chain {b.chainBatchId}</span>}
                    </td>
                    <td title={b.error ?? undefined}>
                      <span className={`badge ${b.status === 'posted' ? 'ok' : b.status === 'failed' ? 'failed' : 'queued'}`}>{b.status}</span>
                    </td>
                    <td>
                      {b.receipts.toLocaleString()}
                      {b.jobs !== undefined && (
                        <span className="muted small">
                          {' '}
                          · {b.jobs} job{b.jobs === 1 ? '' : 's'}
                        </span>
                      )}
                    </td>
                    <td>{formatLodeExact(b.total)}</td>
                    <td>{formatLodeExact(b.fee)}</td>
                    <td>{ago(b.createdAt)}</td>
                    <td>{b.finalAt === null ? '—' : b.finalAt <= Date.now() ? 'final' : countdown(b.finalAt)}</td>
                    <td className="mono small" title={b.txHash ?? undefined}>
                      {shortAddress(b.txHash)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {data.count !== undefined && data.count > data.batches.length && (
            <p className="small muted">
              The newest {data.batches.length} of {data.count.toLocaleString()}.
            </p>
          )}
        </>
      )}
    </>
  );
}

const STATE_TONE: Record<string, string> = {
  Pending: 'queued',
  Active: 'waiting',
  Succeeded: 'ok',
  Queued: 'waiting',
  Executed: 'ok',
  Defeated: 'failed',
  Canceled: 'cancelled',
  Expired: 'cancelled',
};

function Proposals({ info }: { info: LedgerInfo }) {
  const { data, error } = usePoll(async () => (await import('./chain.js')).listProposals(info, LISTED), 15_000, chainKey(info));
  return (
    <>
      <h3 style={{ marginTop: '1rem' }}>Proposals and votes</h3>
      {error !== undefined && <div className="notice bad">Could not read the proposals from the chain: {errorText(error)}</div>}
      {!data ? (
        <p className="muted">Reading the governor…</p>
      ) : data.proposals.length === 0 ? (
        <p className="slot" data-testid="no-proposals">
          No proposal yet. LODE holders change the protocol's parameters through the governor: <code>lode gov propose</code>, then <code>lode gov vote</code>.
        </p>
      ) : (
        <>
          <div className="table-wrap">
            <table data-testid="proposals">
              <thead>
                <tr>
                  <th>Proposal</th>
                  <th>State</th>
                  <th>For</th>
                  <th>Against</th>
                  <th>Abstain</th>
                  <th>Quorum</th>
                  <th>Voting</th>
                </tr>
              </thead>
              <tbody>
                {data.proposals.map((p) => (
                  <ProposalRow key={p.id} p={p} />
                ))}
              </tbody>
            </table>
          </div>
          {data.count > data.proposals.length && (
            <p className="small muted">
              The newest {data.proposals.length} of {data.count.toLocaleString()}.
            </p>
          )}
        </>
      )}
    </>
  );
}

function ProposalRow({ p }: { p: ProposalSummary }) {
  const now = Date.now();
  const start = p.voteStart * 1000;
  const end = p.voteEnd * 1000;
  const voting = now < start ? `opens ${countdown(start, now)}` : now <= end ? `closes ${countdown(end, now)}` : `closed ${ago(end, now)}`;
  const what = p.changes
    .map((c) => `${c.parameter} → ${c.value}`)
    .concat(p.otherCalls > 0 ? [`${p.otherCalls} other call${p.otherCalls === 1 ? '' : 's'}`] : []);
  return (
    <tr data-proposal={p.id}>
      <td className="wrap">
        <div>{p.description || <span className="slot">no description</span>}</div>
        <div className="small muted">
          {what.length > 0 && <>{what.join(', ')} · </>}
          <span className="mono" title={p.id}>
            #{p.id.length > 10 ? `${p.id.slice(0, 6)}…${p.id.slice(-4)}` : p.id}
          </span>{' '}
          by <span className="mono">{shortAddress(p.proposer)}</span>
        </div>
      </td>
      <td>
        <span className={`badge ${STATE_TONE[p.state] ?? ''}`} data-testid="proposal-state">
          {p.state}
        </span>
        {p.state === 'Queued' && p.eta !== null && <div className="small muted">executable {countdown(p.eta * 1000, now)}</div>}
      </td>
      <td data-testid="votes-for">{formatLodeShort(p.votes.for)}</td>
      <td>{formatLodeShort(p.votes.against)}</td>
      <td>{formatLodeShort(p.votes.abstain)}</td>
      <td>{p.quorum === null ? '—' : formatLodeShort(p.quorum)}</td>
      <td>{voting}</td>
    </tr>
  );
}
