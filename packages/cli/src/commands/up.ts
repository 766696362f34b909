/** `lode up` — a whole local network in one command: a gateway plus N provider nodes. */
import { createLodeClient, listNodes, signIn } from '@lode/sdk';
import { formatEther } from 'viem';
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { globalsOf, positiveInt, withExamples, withJson } from '../context.js';
import { printJson } from '../output.js';
import { loadGateway } from '../peers.js';
import { watchSignals } from '../signals.js';
import { superviseNodes } from '../supervisor.js';
import { amount } from '../context.js';
import { localDeviceCapabilities, registerWithConsent } from './device/shared.js';
import { accessOptions, faucetJson, faucetLine, ledgerLine, ledgerOptions, trustOptions, withGatewayFlags, type GatewayFlags } from './gateway.js';

interface Options extends GatewayFlags {
  nodes: number;
  slots?: number;
  price?: string;
  pricePerFuel: string;
  verbose?: boolean;
  readyTimeout: number;
}

/** The `lode` executable, for starting children the same way a user would. */
const BIN = fileURLToPath(new URL('../../bin/lode.js', import.meta.url));

/** How long a node may take to drain when `lode up` stops. @default 30 s */
export const DRAIN_TIMEOUT_MS = 30_000;

export function registerUp(program: Command): void {
  const cmd = program
    .command('up')
    .description('start a local network: a gateway in this process and N provider nodes as child processes')
    .option('--nodes <n>', 'provider nodes to start', positiveInt('--nodes'), 4)
    .option('--slots <n>', 'tasks each node runs at once (default: one per CPU core)', positiveInt('--slots'))
    .option('--ready-timeout <ms>', 'how long to wait for every node to connect', positiveInt('--ready-timeout'), 60_000)
    .option('--price-per-fuel <amount>', "price per unit of fuel the nodes ask, in the token's smallest unit", amount('--price-per-fuel'), '0')
    .option(
      '--price <amount>',
      `price per task the nodes ask, in the token's smallest unit (default: ${DEFAULT_NODE_PRICE} = 0.001 LODE with a ledger, 0 without)`,
      amount('--price'),
    )
    .option('--verbose', "show the nodes' logs");
  withGatewayFlags(cmd);
  withJson(cmd);
  cmd.addHelpText(
    'after',
    "\nThe nodes get gas and LODE from the gateway's faucet, from 127.0.0.1 like any client: unless\n" +
      'given, --faucet-per-ip-day and --faucet-per-day are raised to cover them (nodes + 2).',
  );
  withExamples(cmd, 'lode up', 'lode up --nodes 2 --port 0 --data-dir /tmp/lode');
  cmd.action(async (opts: Options) => {
    const { dataDir } = globalsOf(cmd);
    const shutdown = watchSignals();
    const { startGateway } = await loadGateway();
    // The faucet funds this network's own nodes from 127.0.0.1 like any other client: its per-IP
    // and daily limits are raised to cover them (unless set), never waived for loopback.
    const ledger = ledgerOptions(opts);
    const faucetLimits = {
      ...ledger.faucetLimits,
      perIp: opts.faucetPerIpDay ?? Math.max(10, opts.nodes + 2),
      total: opts.faucetPerDay ?? Math.max(100, opts.nodes + 2),
    };
    const gw = await startGateway({
      port: opts.port,
      host: opts.host,
      dataDir,
      databaseUrl: opts.databaseUrl,
      logLevel: opts.logLevel,
      ...ledger,
      faucetLimits,
      trust: trustOptions(opts),
      ...accessOptions(opts),
    });
    const say = (line: string) => process.stderr.write(`${line}\n`);
    const addresses = new Map<number, string>();
    const price = opts.price ?? (gw.ledger ? DEFAULT_NODE_PRICE : '0');
    let deviceOwner: string | null = null;
    if (gw.ledger) {
      // Every local node gets gas, LODE and the minimum stake, and is registered as a device
      // owned by the requester account, which gets funds.
      const nodeDirs = [...Array(opts.nodes).keys()].map((i) => join(dataDir, 'nodes', String(i)));
      try {
        deviceOwner = await provisionAccounts(gw, dataDir, nodeDirs);
      } catch (err) {
        await gw.close();
        throw err;
      }
    }

    const nodes = superviseNodes({
      count: opts.nodes,
      argsOf: (i) => [
        BIN,
        'node',
        '--gateway',
        gw.wsUrl,
        // Pinned: the nodes sign hellos for this gateway's account only.
        '--gateway-address',
        gw.identity.gateway,
        '--data-dir',
        join(dataDir, 'nodes', String(i)),
        '--price',
        price,
        '--price-per-fuel',
        opts.pricePerFuel,
        ...(opts.slots ? ['--slots', String(opts.slots)] : []),
        ...(opts.verbose ? ['--log-level', 'info'] : []),
      ],
      onLine: (i, line, stream) => {
        if (stream === 'stderr' || opts.verbose) say(`[node ${i}] ${line}`);
      },
      onNotice: (i, message) => say(`[node ${i}] ${message}`),
      onReady: (i, address) => addresses.set(i, address),
    });
    shutdown.onForce(() => {
      say('Stopping now.');
      nodes.kill();
    });

    const ready = await Promise.race([waitForNodes(gw.url, opts.nodes, opts.readyTimeout), shutdown.requested.then(() => false)]);
    const dashboard = await dashboardLink(gw.url, dataDir).catch((err: unknown) => {
      say(`(no dashboard sign-in link: ${err instanceof Error ? err.message : String(err)})`);
      return `${gw.url}/`;
    });
    const summary = {
      dashboard,
      gateway: gw.url,
      wsUrl: gw.wsUrl,
      port: gw.port,
      api: `${gw.url}/v1`,
      metrics: `${gw.url}/metrics`,
      dataDir: resolve(dataDir),
      database: opts.databaseUrl ? 'postgresql' : 'embedded',
      ledger: gw.ledger
        ? {
            mode: gw.ledger.mode,
            chainId: gw.ledger.chainId,
            contracts: gw.ledger.addresses,
            pricePerTask: price,
            faucet: faucetJson(gw.ledger),
            deviceOwner,
          }
        : null,
      nodes: [...Array(opts.nodes).keys()].map((i) => ({ dataDir: resolve(dataDir, 'nodes', String(i)), address: addresses.get(i) ?? null })),
      ready,
    };
    if (opts.json) printJson(summary);
    else {
      process.stdout.write(
        `Lode is up.\n` +
          `  gateway:   ${gw.url}   (export LODE_GATEWAY=${gw.url})\n` +
          `  API:       ${summary.api}   metrics: ${summary.metrics}\n` +
          `  dashboard: ${dashboard}\n` +
          `             (signed in as your account for 12 hours: keep the link to yourself)\n` +
          `  data dir:  ${summary.dataDir} (${opts.databaseUrl ? 'PostgreSQL server' : 'embedded database'})\n` +
          `  ledger:    ${ledgerLine(gw)}\n` +
          (gw.ledger
            ? `             nodes staked, asking ${formatEther(BigInt(price))} LODE per task; your account (${dataDir}) is funded\n` +
              `             and owns every node as a device, so their payouts come to it (lode device ls)\n`
            : '') +
          (faucetLine(gw) ? `  faucet:    ${faucetLine(gw)}\n` : '') +
          `  nodes:     ${opts.nodes}${summary.nodes.map((n, i) => `\n    ${i}: ${n.address ?? '(starting)'}  ${n.dataDir}`).join('')}\n` +
          (ready
            ? 'ready — try: lode run pi --tasks 16\n'
            : `not every node connected within ${opts.readyTimeout} ms; see the [node] lines above. Still running.\n`) +
          'Press Ctrl-C to stop.\n',
      );
    }

    await shutdown.requested;
    say('Stopping: draining nodes…');
    await nodes.stop(DRAIN_TIMEOUT_MS);
    say('Closing the gateway…');
    await gw.close();
    shutdown.dispose();
  });
}

/**
 * The dashboard's address with a session of the requester account in `dataDir` (EIP-4361, signed
 * with its key): the page reads that account's jobs. The token rides in the URL's fragment, which
 * browsers never send to a server.
 */
async function dashboardLink(gateway: string, dataDir: string): Promise<string> {
  const { loadOrCreateAccount } = await import('@lode/keystore');
  const { account } = await loadOrCreateAccount(dataDir, { create: true });
  const { token } = await signIn(createLodeClient({ gateway, account }));
  return `${gateway}/#/?session=${encodeURIComponent(token)}`;
}

/** What `lode up`'s nodes ask per task when the network has a ledger: 0.001 LODE. */
export const DEFAULT_NODE_PRICE = '1000000000000000';

/**
 * Funds the requester account in `dataDir` and each node account (creating keystores as needed)
 * from the gateway's faucet, stakes the minimum for each node that has not, and registers each
 * node as a device owned by the requester account. Idempotent: a restarted `lode up` finds the
 * stakes and devices in place and only tops up empty accounts. Returns the devices' owner.
 *
 * The owner is the `dataDir` account, not each node itself: it is the operator of this local
 * network (its jobs' requester, and the governance operator of the embedded chain), so every
 * node's income lands in the one wallet `lode wallet balance` shows, as it would for someone
 * running several machines. Each node's stake stays with its own key (slashes follow the node).
 */
async function provisionAccounts(
  gw: Awaited<ReturnType<Awaited<ReturnType<typeof loadGateway>>['startGateway']>>,
  dataDir: string,
  nodeDirs: string[],
): Promise<`0x${string}`> {
  const ledgerInfo = gw.ledger!;
  const { loadOrCreateAccount } = await import('@lode/keystore');
  const { createLedgerClient, deviceRegistryAbi, getAccountLedger, stake } = await import('@lode/ledger/client');
  const { readContract } = await import('viem/actions');
  const { minStake } = await ledgerInfo.params();
  const clientFor = (account: Parameters<typeof createLedgerClient>[0]['account']) =>
    createLedgerClient({ rpcUrl: `${gw.url}/rpc`, addresses: ledgerInfo.addresses, account });
  const fundIfEmpty = async (dir: string) => {
    const { account } = await loadOrCreateAccount(dir, { create: true });
    const client = clientFor(account);
    const state = await getAccountLedger(client, { address: account.address });
    if (state.eth === 0n || state.lode + state.stake < minStake) await ledgerInfo.faucet(account.address, { ip: '127.0.0.1' });
    return { account, client, state };
  };
  const owner = await fundIfEmpty(dataDir);
  // Every node here runs on this machine: one detection serves them all (no benchmark run).
  const device = await localDeviceCapabilities();
  for (const dir of nodeDirs) {
    const { account, client, state } = await fundIfEmpty(dir);
    if (!state.eligible) await stake(client, { amount: minStake - state.stake });
    const [, registered] = await readContract(client, {
      address: ledgerInfo.addresses.registry,
      abi: deviceRegistryAbi,
      functionName: 'payeeOf',
      args: [account.address],
    });
    if (!registered) await registerWithConsent(owner.client, account, { kind: device.capabilities.kind, capabilitiesHash: device.capabilitiesHash });
  }
  return owner.account.address;
}

/** Polls GET /v1/nodes until `count` nodes are online; false after `timeoutMs`. */
async function waitForNodes(gateway: string, count: number, timeoutMs: number): Promise<boolean> {
  const client = createLodeClient({ gateway, timeoutMs: 2000 });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const online = await listNodes(client).then(
      (nodes) => nodes.filter((n) => n.online).length,
      () => 0,
    );
    if (online >= count) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
