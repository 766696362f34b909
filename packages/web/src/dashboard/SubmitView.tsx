/**
 * Submit a job from the page: upload a WASI module and inputs, sign the JobSpec (EIP-712) with
 * this browser's account key — the one the contributor page uses, kept in IndexedDB — and go
 * to the job's page.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { DEFAULTS, LIMITS, toBase64, type TaskInputInit } from '@lode/protocol';
import { listNodes, putBlob, submitJob } from '@lode/sdk';
import { formatEther, parseEther } from 'viem';
import { loadKey, loadOrCreateKey } from '@lode/keystore/browser';
import { errorText, gatewayOrigin, readClient, rememberReader, signingClient } from '../shared/client.js';
import { formatBytes } from '../shared/format.js';
import { getStats } from './stats.js';

/** Splits a command line into arguments: spaces separate, "double" or 'single' quotes group. */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

/** KEY=VALUE lines (blank lines and # comments skipped). Throws on a line without `=`. */
export function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const at = line.indexOf('=');
    if (at <= 0) throw new Error(`"${line}" is not KEY=VALUE.`);
    env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

type Mode = 'copies' | 'files';

export function SubmitView() {
  const [address, setAddress] = useState<string | undefined>();
  const [module, setModule] = useState<File | undefined>();
  const [name, setName] = useState('');
  const [mode, setMode] = useState<Mode>('copies');
  const [copies, setCopies] = useState(1);
  const [inputs, setInputs] = useState<File[]>([]);
  const [args, setArgs] = useState('');
  const [env, setEnv] = useState('');
  const [memoryMiB, setMemoryMiB] = useState<number>(DEFAULTS.memoryMiB);
  const [wallSeconds, setWallSeconds] = useState(DEFAULTS.wallMs / 1000);
  const [maxOutputKiB, setMaxOutputKiB] = useState(DEFAULTS.maxOutputBytes / 1024);
  /** Max price per task in LODE (text); defaults to the going rate: the highest price an online node asks. */
  const [price, setPrice] = useState<string | undefined>();
  const [busy, setBusy] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    void loadKey()
      .then((k) => setAddress(k?.account.address))
      .catch(() => undefined);
    void listNodes(readClient)
      .then((nodes) => {
        const rate = nodes
          .filter((n) => n.online)
          .reduce((max, n) => (BigInt(n.capabilities.pricePerTask) > max ? BigInt(n.capabilities.pricePerTask) : max), 0n);
        setPrice((p) => p ?? formatEther(rate));
      })
      .catch(() => setPrice((p) => p ?? '0'));
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      if (!module) throw new Error('Choose a .wasm module first.');
      if (module.size > LIMITS.maxModuleBytes)
        throw new Error(`The module is ${formatBytes(module.size)}; the limit is ${formatBytes(LIMITS.maxModuleBytes)}.`);
      if (mode === 'files' && inputs.length === 0) throw new Error('Choose at least one input file, or run copies.');
      const taskArgs = splitArgs(args);
      const taskEnv = parseEnv(env);
      let maxPerTask: bigint;
      try {
        maxPerTask = parseEther((price ?? '0').trim() || '0');
      } catch {
        throw new Error('Write the price per task in LODE, e.g. 0.001.');
      }
      if (maxPerTask < 0n) throw new Error('The price cannot be negative.');
      setBusy('Loading your key…');
      const key = await loadOrCreateKey();
      setAddress(key.account.address);
      const client = signingClient(key.account);
      setBusy('Uploading the module…');
      // skipIfExists: false — asking first (HEAD) would log a 404 in the console for every new module.
      const { sha256 } = await putBlob(client, { data: new Uint8Array(await module.arrayBuffer()), skipIfExists: false });
      let tasks: TaskInputInit[];
      if (mode === 'copies') {
        tasks = Array.from({ length: copies }, () => ({ args: taskArgs, env: taskEnv }));
      } else {
        tasks = [];
        for (const [i, file] of inputs.entries()) {
          setBusy(`Uploading input ${i + 1} of ${inputs.length}…`);
          const bytes = new Uint8Array(await file.arrayBuffer());
          if (bytes.byteLength <= LIMITS.maxInlineStdinBytes) tasks.push({ args: taskArgs, env: taskEnv, stdin: toBase64(bytes) });
          else tasks.push({ args: taskArgs, env: taskEnv, stdinBlob: (await putBlob(client, { data: bytes, skipIfExists: false })).sha256 });
        }
      }
      setBusy('Signing and submitting…');
      const job = await submitJob(client, {
        name: name.trim() || module.name.replace(/\.wasm$/, ''),
        module: sha256,
        tasks,
        resources: { memoryMiB },
        limits: { wallMs: Math.round(wallSeconds * 1000), maxOutputBytes: Math.round(maxOutputKiB * 1024) },
        price: { maxPerTask: maxPerTask.toString() },
        // A paid job's maximum cost goes into escrow first (on a gateway with a ledger).
        fund: async ({ spec, jobId, maxCost }) => {
          const stats = await getStats();
          if (!stats.ledger.enabled) return; // no ledger: the price only filters nodes
          const { depositEscrow, ledgerInfo } = await import('../agent/ledger.js');
          const steps = { faucet: 'Getting test LODE from the faucet…', approve: 'Approving the escrow…', deposit: "Escrowing the job's cost…" };
          const info = await ledgerInfo(gatewayOrigin());
          await depositEscrow(gatewayOrigin(), info, key.account, { jobId, amount: maxCost, deadline: spec.deadline }, (s) => setBusy(steps[s]));
          setBusy('Submitting…');
        },
      });
      rememberReader(job.id, client);
      location.hash = `#/jobs/${job.id}`;
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section>
      <h1>Submit a job</h1>
      <form className="panel" onSubmit={(e) => void submit(e)}>
        <label className="field">
          <span>WASI module</span>
          <input type="file" accept=".wasm,application/wasm" onChange={(e) => setModule(e.target.files?.[0])} data-testid="module" />
          <span className="small muted">
            A WASI preview1 command (AssemblyScript, Rust, C, Go…). {module ? `${module.name}, ${formatBytes(module.size)}.` : ''}
          </span>
        </label>
        <label className="field">
          <span>Name</span>
          <input
            type="text"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder={module?.name.replace(/\.wasm$/, '') ?? 'my job'}
            maxLength={200}
          />
        </label>
        <fieldset className="panel" style={{ marginBottom: '0.75rem' }}>
          <legend>Tasks</legend>
          <label className="check">
            <input type="radio" name="mode" checked={mode === 'copies'} onChange={() => setMode('copies')} />
            <span>
              Run{' '}
              <input
                type="number"
                min={1}
                max={LIMITS.maxTasksPerJob}
                value={copies}
                onChange={(e) => setCopies(Math.max(1, Math.min(LIMITS.maxTasksPerJob, Number(e.target.value) || 1)))}
                style={{ width: '7rem', display: 'inline-block' }}
                aria-label="Number of tasks"
              />{' '}
              copies with the same arguments
            </span>
          </label>
          <label className="check">
            <input type="radio" name="mode" checked={mode === 'files'} onChange={() => setMode('files')} />
            <span>
              One task per input file (the file is the task's stdin)
              <br />
              <input type="file" multiple disabled={mode !== 'files'} onChange={(e) => setInputs([...(e.target.files ?? [])])} />
              {inputs.length > 0 && <span className="small muted"> {inputs.length} files</span>}
            </span>
          </label>
        </fieldset>
        <label className="field">
          <span>Arguments</span>
          <input type="text" value={args} onChange={(e) => setArgs(e.target.value)} placeholder="e.g. 0 100000" className="mono" />
        </label>
        <label className="field">
          <span>Environment</span>
          <textarea value={env} onChange={(e) => setEnv(e.target.value)} placeholder="KEY=VALUE, one per line" />
        </label>
        <div className="grid2">
          <label className="field">
            <span>Memory per task (MiB)</span>
            <input
              type="number"
              min={1}
              max={LIMITS.maxMemoryMiB}
              value={memoryMiB}
              onChange={(e) => setMemoryMiB(Number(e.target.value) || DEFAULTS.memoryMiB)}
            />
          </label>
          <label className="field">
            <span>Wall time per task (s)</span>
            <input
              type="number"
              min={0.001}
              max={LIMITS.maxWallMs / 1000}
              step="any"
              value={wallSeconds}
              onChange={(e) => setWallSeconds(Number(e.target.value) || 1)}
            />
          </label>
          <label className="field">
            <span>Output per task (KiB)</span>
            <input
              type="number"
              min={0}
              max={LIMITS.maxOutputBytes / 1024}
              value={maxOutputKiB}
              onChange={(e) => setMaxOutputKiB(Number(e.target.value) || 0)}
            />
          </label>
        </div>
        <label className="field">
          <span>Most it pays per task (LODE)</span>
          <input
            type="text"
            inputMode="decimal"
            value={price ?? ''}
            onChange={(e) => setPrice(e.target.value)}
            style={{ maxWidth: '12rem' }}
            aria-label="Price per task"
          />
          <span className="small muted">
            Nodes asking more do not get its tasks. The default is the going rate: the highest price an online node asks. On a gateway with a ledger, tasks ×
            this price is escrowed first, and what is not spent comes back when the job ends.
          </span>
        </label>
        <p className="small muted">
          Signed by this browser's account <span className="mono break">{address ?? '(created when you submit)'}</span>, the same key the{' '}
          <a href="/contribute">contributor page</a> uses.
        </p>
        {error && <div className="notice bad">{error}</div>}
        <button className="primary" type="submit" disabled={!!busy}>
          {busy ?? 'Submit'}
        </button>
      </form>
    </section>
  );
}
