import { LodeError, type LodeErrorOptions } from './base.js';

/**
 * Why a device credential (a W3C Verifiable Credential as a JWT, see deviceCredential.ts) was
 * refused. Stable: callers branch on these, never on the message.
 * - `CREDENTIAL_MALFORMED`: not a Lode device credential (not a JWT, too large, wrong algorithm
 *   or issuer form, or claims that do not match the schema).
 * - `CREDENTIAL_FORGED`: the signature does not recover to the issuer it names.
 * - `CREDENTIAL_EXPIRED` / `CREDENTIAL_NOT_YET_VALID`: outside its validity window.
 * - `CREDENTIAL_WRONG_CHAIN`: issued on another chain than the one the verifier expects.
 * - `CREDENTIAL_UNTRUSTED_ISSUER`: issued by a gateway the verifier does not trust.
 */
export const DEVICE_CREDENTIAL_CODES = [
  'CREDENTIAL_MALFORMED',
  'CREDENTIAL_FORGED',
  'CREDENTIAL_EXPIRED',
  'CREDENTIAL_NOT_YET_VALID',
  'CREDENTIAL_WRONG_CHAIN',
  'CREDENTIAL_UNTRUSTED_ISSUER',
] as const;
export type DeviceCredentialCode = (typeof DEVICE_CREDENTIAL_CODES)[number];

/** A device credential was refused: `code` says why; the message says what to do next. */
export class DeviceCredentialRefusedError extends LodeError {
  readonly code: DeviceCredentialCode;
  override readonly httpStatus = 400;
  constructor(code: DeviceCredentialCode, message: string, options?: LodeErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
