/** Ledger and governance: where the gateway settles, on what terms, and what is waiting to settle. */
import type { LedgerInfo } from '../agent/ledger.js';
import { errorText } from '../shared/client.js';
import { formatDuration, formatLode } from '../shared/format.js';
import { useLedgerInfo } from './ledger.js';

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
          This gateway runs without a ledger: jobs are free and nothing is settled. Balances, stakes, settlements, the
          treasury and the protocol's parameters appear once the ledger is enabled.
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
          <div className="value">{formatLode(s.unsettledAmount, 2)}</div>
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
          {info.mode === 'embedded' ? 'embedded in the gateway' : 'external'} · chain id {info.chainId} · JSON-RPC <span className="mono">{info.resolvedRpcUrl}</span>
          {info.faucet ? ' · faucet on' : ''}
        </dd>
        <dt>Settlement</dt>
        <dd>
          every {formatDuration(p.settlementPeriod * 1000)}, claimable after a challenge window of {formatDuration(p.challengeWindow * 1000)}
        </dd>
        <dt>Unbonding</dt>
        <dd>{formatDuration(p.unbondingPeriod * 1000)}</dd>
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
        <dt>Governor</dt>
        <dd className="mono">{info.contracts.governor}</dd>
        <dt>Timelock</dt>
        <dd className="mono">{info.contracts.timelock}</dd>
      </dl>
      <p className="small slot">Proposals and votes are not served by the gateway's API yet; the governor's address above is where they live.</p>
    </>
  );
}
