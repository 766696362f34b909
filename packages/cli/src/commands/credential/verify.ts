/**
 * `lode credential verify <file|->` — checks a device credential (the W3C VC that
 * `lode credential export --vc` writes) offline: no gateway is asked. Prints who issued it, what
 * it says about the node and until when it holds, or why it is refused (exit status 1).
 */
import {
  Address,
  DeviceCredentialRefusedError,
  LIMITS,
  verifyDeviceCredential,
  type DeviceCredentialAccepted,
  type DeviceCredentialSubject,
} from '@lode/protocol';
import { InvalidArgumentError, type Command } from 'commander';
import { open } from 'node:fs/promises';
import { collect, withExamples, withJson } from '../../context.js';
import { formatDuration, printJson } from '../../output.js';
import { UsageError } from '../../errors.js';

/** Most bytes read from the file or stdin: a JWT, or the JSON `export --vc --json` prints around one. */
const MAX_INPUT_BYTES = 4 * LIMITS.maxDeviceCredentialBytes;

interface VerifyOptions {
  json?: boolean;
  chainId?: number;
  issuer?: string[];
}

export function registerCredentialVerify(parent: Command): void {
  const cmd = parent
    .command('verify')
    .description('verify a device credential (W3C VC as a JWT, from `lode credential export --vc`) offline: its signature, validity, chain and issuer')
    .argument('<file>', 'a file holding the JWT (or the JSON `export --vc --json` prints), or - for stdin')
    .option('--chain-id <n>', 'refuse a credential issued on another chain', chainId)
    .option('--issuer <address>', 'accept only credentials issued by this gateway (repeat for several)', issuerAddress);
  withJson(cmd);
  withExamples(
    cmd,
    'lode credential verify node.vc.jwt',
    'lode credential verify node.vc.jwt --chain-id 31337 --issuer 0x8a91…04f2 --json',
    'lode credential export --vc 0x5e47…dd29 | lode credential verify -',
  );
  cmd.action(async (file: string, opts: VerifyOptions) => {
    const jwt = jwtOf(await readBounded(file), file);
    const v = await verifyDeviceCredential(jwt, {
      ...(opts.chainId !== undefined ? { chainId: opts.chainId } : {}),
      ...(opts.issuer?.length ? { trustedIssuers: opts.issuer } : {}),
    });
    if (!v.ok) throw new DeviceCredentialRefusedError(v.code, v.reason);
    if (opts.json) return printJson(v);
    process.stdout.write(`${describeDeviceCredential(v).join('\n')}\n`);
  });
}

function chainId(value: string): number {
  const n = Number(value);
  if (!/^(0|[1-9][0-9]*)$/.test(value) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError(`--chain-id must be a non-negative integer, got "${value}".`);
  return n;
}

function issuerAddress(value: string, previous: string[] = []): string[] {
  if (!Address.safeParse(value).success) throw new InvalidArgumentError(`--issuer must be an address (0x and 40 hex digits), got "${value}".`);
  return collect(value, previous);
}

/** The file's (or stdin's) text, refused past `MAX_INPUT_BYTES` without reading further. */
async function readBounded(file: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const tooLarge = () => new UsageError(`${file === '-' ? 'stdin' : file} holds more than ${MAX_INPUT_BYTES} bytes: it is not a device credential.`);
  if (file === '-') {
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_INPUT_BYTES) throw tooLarge();
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new UsageError(`Could not read ${file}: ${(err as Error).message}`);
  }
  try {
    const buf = Buffer.alloc(MAX_INPUT_BYTES + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > MAX_INPUT_BYTES) throw tooLarge();
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The JWT in what was read: the text itself, or the `jwt` member of JSON. */
function jwtOf(text: string, file: string): string {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return trimmed;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (err) {
    throw new UsageError(`${file} starts like JSON but is not: ${(err as Error).message}`);
  }
  const jwt = (parsed as { jwt?: unknown }).jwt;
  if (typeof jwt !== 'string') throw new UsageError(`${file} is JSON without a "jwt" string: give the JWT, as \`lode credential export --vc\` writes it.`);
  return jwt;
}

const iso = (s: number) => new Date(s * 1000).toISOString();

function deviceLine(s: DeviceCredentialSubject): string {
  const c = s.capabilities;
  return `${c.kind}, ${c.cores} cores, ${c.memoryMiB} MiB, ${c.os}/${c.arch}, ${c.slots} slots, benchmark ${c.benchmark} (declared by the node; agent ${c.agent})`;
}

/** What an accepted credential says, one line per fact. */
export function describeDeviceCredential(v: DeviceCredentialAccepted): string[] {
  const s = v.subject;
  const a = s.availability;
  return [
    'valid Lode device credential',
    `  issuer:       ${v.issuer} (gateway ${v.gateway}, chain ${v.chainId})`,
    `  subject:      ${s.id}`,
    `  device:       ${deviceLine(s)}`,
    `  checks:       ${s.checks.validated} right / ${s.checks.invalid} wrong (streak ${s.checks.consecutiveValid})`,
    `  uptime:       ${formatDuration(s.uptimeSeconds * 1000)}, first seen ${iso(s.firstSeenAt)}`,
    `  offences:     ${s.offences.count} evidence record(s), ${s.offences.slashedWei} wei slashed`,
    `  availability: ${a ? `${a.epochs} epoch(s), score ${a.score}` : 'not reported'}`,
    `  valid:        ${iso(v.issuedAt)} → ${iso(v.expiresAt)}`,
  ];
}
