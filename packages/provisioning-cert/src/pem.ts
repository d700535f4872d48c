import { ProvisioningCertError } from './errors.js';

export interface PemBlock {
  label: string;
  der: Buffer;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Every PEM block in `text`, in order. Text around blocks (such as the "Bag Attributes" lines
 * that `openssl pkcs12` prints) is ignored; a damaged block is an error, never skipped. RFC 1421
 * header lines (`Proc-Type: …` in legacy encrypted keys) are skipped.
 */
export function decodePem(text: string): PemBlock[] {
  if (typeof text !== 'string') throw new ProvisioningCertError('PCERT_PEM_INVALID', 'PEM input is not text');
  const blocks: PemBlock[] = [];
  const begin = /-----BEGIN ([A-Z0-9 ]{1,64})-----/g;
  for (let m = begin.exec(text); m !== null; m = begin.exec(text)) {
    const label = m[1] ?? '';
    const end = `-----END ${label}-----`;
    const bodyStart = m.index + m[0].length;
    const endAt = text.indexOf(end, bodyStart);
    if (endAt < 0)
      throw new ProvisioningCertError('PCERT_PEM_INVALID', `PEM block "${label}" is not terminated`);
    let body = text.slice(bodyStart, endAt);
    if (body.includes('-----')) {
      throw new ProvisioningCertError('PCERT_PEM_INVALID', `PEM block "${label}" is not terminated`);
    }
    // `[^\n:]*` up to the first colon: with `[^\n]*:` a long line of colons backtracked
    // quadratically.
    if (body.includes(':')) body = body.replace(/^[^\n:]*:[^\n]*\n/gm, '');
    const b64 = body.replace(/\s+/g, '');
    if (b64.length === 0 || b64.length % 4 !== 0 || !BASE64.test(b64)) {
      throw new ProvisioningCertError('PCERT_PEM_INVALID', `PEM block "${label}" is not valid base64`);
    }
    blocks.push({ label, der: Buffer.from(b64, 'base64') });
    begin.lastIndex = endAt + end.length;
  }
  return blocks;
}

/** The DER bytes of every CERTIFICATE block; at least one must be present. */
export function decodePemCertificates(text: string): Buffer[] {
  const certs = decodePem(text)
    .filter((b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE')
    .map((b) => b.der);
  if (certs.length === 0) throw new ProvisioningCertError('PCERT_PEM_INVALID', 'no CERTIFICATE block found');
  return certs;
}

/** RFC 7468 text: base64 in 64-character lines between BEGIN/END lines, with a final newline. */
export function encodePem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
