/**
 * `/contribute`: one button makes this browser a Lode provider node. The work itself is done by
 * the React-free agent (../agent); this page only renders its state and forwards the controls.
 */
import { useEffect, useState, useSyncExternalStore } from 'react';
import { formatEther, parseEther } from 'viem';
import { Contributor, createWorkerSandbox, exportKey, workerClock, type ContributorState } from '../agent/index.js';
import { spawnSandboxWorker, spawnTicker } from '../agent/spawn.js';
import { download, formatDuration, formatLode, shortId } from '../shared/format.js';
import { Topbar } from '../shared/Topbar.js';

const SETTINGS_KEY = 'lode.contribute.settings.v1';

interface Settings {
  slots: number;
  pauseWhenHidden: boolean;
  /** Asked per task, in the token's smallest unit. */
  pricePerTask: string;
}

function loadSettings(): Settings {
  const cores = Math.max(1, navigator.hardwareConcurrency || 1);
  const fallback: Settings = { slots: Math.max(1, Math.floor(cores / 2)), pauseWhenHidden: false, pricePerTask: '0' };
  try {
    const raw = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? 'null') as Partial<Settings> | null;
    return {
      slots: typeof raw?.slots === 'number' ? Math.min(cores, Math.max(1, raw.slots)) : fallback.slots,
      pauseWhenHidden: typeof raw?.pauseWhenHidden === 'boolean' ? raw.pauseWhenHidden : fallback.pauseWhenHidden,
      pricePerTask: typeof raw?.pricePerTask === 'string' && /^(0|[1-9][0-9]{0,77})$/.test(raw.pricePerTask) ? raw.pricePerTask : fallback.pricePerTask,
    };
  } catch {
    return fallback;
  }
}

function saveSettings(patch: Partial<Settings>): void {
  try {
    localStorage.setItem(SETTINGS_KEY, JSON.stringify({ ...loadSettings(), ...patch }));
  } catch {
    // Private mode or storage disabled: settings last for this visit only.
  }
}

// One contributor per page, outside React: it must outlive re-renders (and StrictMode's double effects).
const settings = loadSettings();
const contributor = new Contributor({
  gateway: location.origin,
  slots: settings.slots,
  pricePerTask: settings.pricePerTask,
  pauseWhenHidden: settings.pauseWhenHidden,
  createSandbox: (workers) => createWorkerSandbox({ workers, spawn: spawnSandboxWorker }),
  clock: workerClock(spawnTicker),
});
void contributor.init();
addEventListener('pagehide', () => void contributor.stop());

const STATUS_TEXT: Record<ContributorState['status'], string> = {
  idle: 'Not contributing',
  starting: 'Starting…',
  connecting: 'Connecting to the gateway…',
  contributing: 'Contributing',
  paused: 'Paused',
  'needs-stake': 'Needs a stake',
  error: 'Could not start',
};

const PAUSE_TEXT = { you: 'you paused it', hidden: 'this tab is hidden', battery: 'the battery is low and not charging' } as const;

export function ContributePage() {
  const state = useSyncExternalStore(contributor.subscribe, contributor.getState);
  const [slots, setSlots] = useState(state.slots);
  const [pauseWhenHidden, setPauseWhenHidden] = useState(settings.pauseWhenHidden);
  const active = state.status !== 'idle' && state.status !== 'error';

  // Apply a slider change once it settles (each change is a new signed session).
  useEffect(() => {
    if (slots === state.slots) return;
    const t = setTimeout(() => {
      saveSettings({ slots });
      void contributor.setSlots(slots);
    }, 400);
    return () => clearTimeout(t);
  }, [slots]); // eslint-disable-line react-hooks/exhaustive-deps

  const onPauseWhenHidden = (on: boolean) => {
    setPauseWhenHidden(on);
    saveSettings({ pauseWhenHidden: on });
    contributor.setPauseWhenHidden(on);
  };

  return (
    <>
      <Topbar active="contribute" onDashboard={false} />
      <main>
        <section className="panel">
          <h1>Contribute this device</h1>
          <p className="muted">
            This tab runs WebAssembly tasks for the Lode network in sandboxed Web Workers — the same sandbox as a server node: no access to your files, camera
            or other sites, only the inputs each task brings. It stops when you close the tab.
          </p>
          <div className="row">
            {!active ? (
              <button type="button" className="primary big" data-testid="contribute" onClick={() => void contributor.start()}>
                Contribute this device
              </button>
            ) : (
              <>
                <button type="button" className="danger" data-testid="stop" onClick={() => void contributor.stop()} disabled={state.status === 'starting'}>
                  Stop contributing
                </button>
                <button
                  type="button"
                  data-testid="pause"
                  onClick={() => contributor.setPaused(!state.pausedBy.includes('you'))}
                  disabled={state.status === 'starting'}
                >
                  {state.pausedBy.includes('you') ? 'Resume' : 'Pause'}
                </button>
              </>
            )}
          </div>
          <p className="row" aria-live="polite">
            <span className={`badge ${state.status}`} data-testid="status">
              {STATUS_TEXT[state.status]}
            </span>
            {state.status === 'paused' && state.pausedBy.length > 0 && (
              <span className="muted">because {state.pausedBy.map((r) => PAUSE_TEXT[r]).join(' and ')}</span>
            )}
            {state.status === 'contributing' && state.sessionId && <span className="muted small">session {state.sessionId}</span>}
          </p>
          {state.error && state.status !== 'contributing' && <div className="notice bad">{state.error}</div>}
          {state.ledger.stakeRequired && <StakePanel state={state} />}
        </section>

        <div className="tiles">
          <div className="tile">
            <div className="label">Tasks done</div>
            <div className="value" data-testid="tasks-done">
              {state.tasksDone}
            </div>
            <div className="hint">{state.tasksFailed > 0 ? `${state.tasksFailed} stopped by the sandbox` : 'since this page opened'}</div>
          </div>
          <div className="tile">
            <div className="label">Running now</div>
            <div className="value">{state.running.length}</div>
            <div className="hint">
              {state.last
                ? `last: ${formatDuration(state.last.durationMs)}${state.last.status === 'failed' ? ` (${state.last.error?.code ?? 'failed'})` : ''}`
                : 'no task yet'}
            </div>
          </div>
          <div className="tile">
            <div className="label">Cores given</div>
            <div className="value">
              {state.slots} <span className="small muted">of {state.maxSlots}</span>
            </div>
            <div className="hint">{state.benchmark ? `benchmark ${state.benchmark.toLocaleString()} it/ms` : ' '}</div>
          </div>
          <div className="tile">
            <div className="label">Earnings</div>
            {state.ledger.enabled && state.ledger.earnings ? (
              <>
                <div className="value" data-testid="earnings">
                  {formatLode(state.ledger.earnings.net)}
                </div>
                <div className="hint">
                  {state.ledger.earnings.tasks} tasks settled · {formatLode(state.ledger.earnings.claimed)} claimed
                </div>
                {BigInt(state.ledger.earnings.claimable) > 0n && (
                  <button
                    type="button"
                    style={{ marginTop: '0.4rem' }}
                    data-testid="claim"
                    disabled={state.ledger.claiming}
                    onClick={() => void contributor.claim()}
                  >
                    {state.ledger.claiming ? 'Claiming…' : `Claim ${formatLode(state.ledger.earnings.claimable)}`}
                  </button>
                )}
              </>
            ) : (
              <div className="value note slot" data-testid="earnings">
                {state.ledger.enabled ? 'read from the ledger once you contribute' : 'earnings appear once the ledger is enabled'}
              </div>
            )}
          </div>
        </div>

        {state.ledger.error && !state.ledger.stakeRequired && <div className="notice bad">{state.ledger.error}</div>}

        <section className="panel">
          <h2>Current tasks</h2>
          <CurrentTasks state={state} />
        </section>

        <section className="panel">
          <h2>Settings</h2>
          <label className="field">
            <span>
              Cores to give: {slots} of {state.maxSlots}
            </span>
            <input
              type="range"
              min={1}
              max={state.maxSlots}
              step={1}
              value={slots}
              onChange={(e) => setSlots(Number(e.target.value))}
              aria-label="Cores to give"
              data-testid="cores"
            />
            <span className="small muted">Each core runs one task at a time in its own worker. A change reconnects once running tasks finish.</span>
          </label>
          <label className="check">
            <input type="checkbox" checked={pauseWhenHidden} onChange={(e) => onPauseWhenHidden(e.target.checked)} data-testid="pause-hidden" />
            <span>
              Pause when this tab is hidden
              <br />
              <span className="small muted">Otherwise it keeps working in the background while the tab stays open.</span>
            </span>
          </label>
          {state.ledger.enabled && <PriceField state={state} />}
          <p className="small muted">
            {state.power.battery
              ? `Battery ${Math.round(state.power.battery.level * 100)}%${state.power.battery.charging ? ', charging' : ', not charging'} — work pauses by itself below ${Math.round(state.power.lowBattery * 100)}% when not charging.`
              : 'This browser does not report its battery: the low-battery pause is off.'}
          </p>
        </section>

        <AccountPanel state={state} />

        <section className="panel">
          <details>
            <summary>Activity log</summary>
            <pre className="log" data-testid="log">
              {state.log.length ? state.log.join('\n') : 'Nothing yet.'}
            </pre>
          </details>
        </section>
      </main>
    </>
  );
}

function CurrentTasks({ state }: { state: ContributorState }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (state.running.length === 0) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [state.running.length]);
  if (state.running.length === 0) {
    return <p className="muted">{state.status === 'contributing' ? 'Waiting for work from the gateway.' : 'None.'}</p>;
  }
  const shown = state.running.slice(0, 12);
  return (
    <ul data-testid="current-tasks">
      {shown.map((t) => (
        <li key={t.leaseId}>
          <a href={`/#/jobs/${t.jobId}`} className="mono">
            job {shortId(t.jobId)}
          </a>{' '}
          task {t.taskIndex} <span className="muted">· {formatDuration(Math.max(0, now - t.at))}</span>
        </li>
      ))}
      {state.running.length > shown.length && <li className="muted">and {state.running.length - shown.length} more</li>}
    </ul>
  );
}

function AccountPanel({ state }: { state: ContributorState }) {
  const [revealed, setRevealed] = useState<string | undefined>();
  const reveal = async () => {
    const key = await contributor.key();
    setRevealed(key.privateKey);
  };
  const save = async () => {
    const key = await contributor.key();
    download('keystore.json', exportKey(key), 'application/json');
  };
  return (
    <section className="panel">
      <h2>Account</h2>
      <dl className="facts">
        <dt>Address</dt>
        <dd className="mono" data-testid="account-address">
          {state.address ?? 'created when you start contributing'}
        </dd>
        {state.keyCreatedAt && (
          <>
            <dt>Created</dt>
            <dd>{new Date(state.keyCreatedAt).toLocaleString()}</dd>
          </>
        )}
        <dt>Stake</dt>
        <dd data-testid="stake-amount">
          {state.ledger.enabled === false
            ? 'none needed: this gateway runs without a ledger'
            : state.ledger.staked !== undefined
              ? `${formatLode(state.ledger.staked)}${state.ledger.minStake ? ` (the gateway asks at least ${formatLode(state.ledger.minStake)})` : ''}`
              : '—'}
        </dd>
      </dl>
      <p className="small muted">
        The key is kept in this browser (IndexedDB) and signs this node's sessions and the jobs you submit from the dashboard. Clearing the site's data deletes
        it: export it to keep it. The file works as a <code>keystore.json</code> for <code>lode</code>.
      </p>
      <div className="row">
        <button type="button" onClick={() => void (revealed ? setRevealed(undefined) : reveal())} data-testid="export">
          {revealed ? 'Hide the key' : 'Export the key'}
        </button>
        <button type="button" onClick={() => void save()}>
          Download keystore.json
        </button>
      </div>
      {revealed && (
        <div className="notice warn" style={{ marginTop: '0.75rem' }}>
          <strong>Private key — anyone who has it controls this account.</strong>
          <pre className="output" data-testid="private-key">
            {revealed}
          </pre>
        </div>
      )}
    </section>
  );
}

const STAKE_STEPS = {
  faucet: 'Getting test LODE and gas from the faucet…',
  approve: 'Approving the staking contract…',
  stake: 'Staking…',
  done: 'Staked.',
} as const;

function StakePanel({ state }: { state: ContributorState }) {
  const { ledger } = state;
  const min = ledger.minStake ? formatLode(ledger.minStake) : 'the minimum';
  return (
    <div className="notice warn" data-testid="stake-panel">
      <p style={{ marginTop: 0 }}>
        <strong>This gateway asks each node to stake at least {min}</strong> before it gives it work: stake is what a node loses if it returns wrong results.{' '}
        {ledger.faucet ? 'Its chain is a local one with a faucet: the test LODE and gas come from there.' : 'The account needs LODE and gas for that.'}
      </p>
      {ledger.error && <p style={{ color: 'var(--bad)' }}>{ledger.error}</p>}
      <button type="button" className="primary" data-testid="stake" disabled={!!ledger.staking} onClick={() => void contributor.stake()}>
        {ledger.staking ? STAKE_STEPS[ledger.staking] : `Stake ${min}`}
      </button>
    </div>
  );
}

/** The price asked per task, in LODE; applied when the field is left or Enter is pressed. */
function PriceField({ state }: { state: ContributorState }) {
  const [text, setText] = useState(formatEther(BigInt(state.pricePerTask)));
  const [error, setError] = useState<string | undefined>();
  const apply = () => {
    let wei: string;
    try {
      const v = parseEther(text.trim() || '0');
      if (v < 0n) throw new Error('negative');
      wei = v.toString();
    } catch {
      setError('Write an amount of LODE, e.g. 0.001.');
      return;
    }
    setError(undefined);
    saveSettings({ pricePerTask: wei });
    void contributor.setPrice(wei);
  };
  return (
    <label className="field" style={{ marginTop: '0.75rem' }}>
      <span>Price per task (LODE)</span>
      <input
        type="text"
        inputMode="decimal"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onBlur={apply}
        onKeyDown={(e) => e.key === 'Enter' && apply()}
        data-testid="price"
        style={{ maxWidth: '12rem' }}
      />
      <span className="small muted">
        {error ??
          'Jobs that pay at least this much per task come to this tab; a change reconnects. Paid work is settled in batches and appears under Earnings.'}
      </span>
    </label>
  );
}
