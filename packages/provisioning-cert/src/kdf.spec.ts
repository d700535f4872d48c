import * as asn1js from 'asn1js';
import {
  AlgorithmIdentifier,
  AuthenticatedSafe,
  ContentInfo,
  EncryptedContentInfo,
  EncryptedData,
  PBES2Params,
  PBKDF2Params,
  PFX,
  PKCS8ShroudedKeyBag,
  SafeBag,
  SafeContents,
} from 'pkijs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPemChain } from './chain.js';
import { ProvisioningCertError } from './errors.js';
import { MAX_KDF_ITERATIONS, pbeIterations } from './kdf.js';
import { createRsaKeyCache } from './keys.js';
import { encodePem } from './pem.js';
import { createPfx, loadPfx } from './pfx.js';
import { createTestPki, type TestPki } from './test-pki.js';

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  pbeSha3Des: '1.2.840.113549.1.12.1.3',
};
// What hostile files ask for, before anything in them can be checked: OpenSSL reads the whole
// INTEGER (2^31−1: minutes of PBKDF2); pkijs reads at most 2^23−1 (about half a minute of its
// synchronous PKCS#12 MAC derivation).
const HOSTILE = 2 ** 31 - 1;
const HOSTILE_PKIJS = 2 ** 23 - 1;

const keys = createRsaKeyCache();
let pki: TestPki;

beforeAll(async () => {
  pki = await createTestPki({ serverFqdn: 'ps.oobkit.test', keys, pfxPassword: 'Pfx!Passw0rd' });
});

function pbes2(iterations: number): AlgorithmIdentifier {
  const kdf = new PBKDF2Params({
    salt: new asn1js.OctetString({ valueHex: new Uint8Array(8).buffer }),
    iterationCount: iterations,
  });
  const params = new PBES2Params({
    keyDerivationFunc: new AlgorithmIdentifier({ algorithmId: OID.pbkdf2, algorithmParams: kdf.toSchema() }),
    encryptionScheme: new AlgorithmIdentifier({
      algorithmId: OID.aes256Cbc,
      algorithmParams: new asn1js.OctetString({ valueHex: new Uint8Array(16).buffer }),
    }),
  });
  return new AlgorithmIdentifier({ algorithmId: OID.pbes2, algorithmParams: params.toSchema() });
}

const der = (o: { toSchema(): { toBER(sizeOnly?: boolean): ArrayBuffer } }): ArrayBuffer =>
  o.toSchema().toBER(false);
const octets = (b: ArrayBuffer) => new asn1js.OctetString({ valueHex: b });

/** A MAC-less PFX holding the given safes. */
function pfxOf(safes: ContentInfo[]): Buffer {
  const authSafe = new AuthenticatedSafe({ safeContents: safes });
  const pfx = new PFX({
    version: 3,
    authSafe: new ContentInfo({ contentType: OID.data, content: octets(der(authSafe)) }),
  });
  return Buffer.from(der(pfx));
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ProvisioningCertError);
  return (e as ProvisioningCertError).code;
}

describe('pbeIterations', () => {
  it('reads the count of PBES2/PBKDF2 and PKCS#12 PBE parameters, beyond 2^23 too', () => {
    const p = pbes2(2048);
    expect(pbeIterations(p.algorithmId, p.algorithmParams)).toBe(2048n);
    const big = pbes2(HOSTILE);
    expect(pbeIterations(big.algorithmId, big.algorithmParams)).toBe(BigInt(HOSTILE));
    expect(MAX_KDF_ITERATIONS).toBeLessThan(HOSTILE_PKIJS);
    const legacy = new asn1js.Sequence({
      value: [
        new asn1js.OctetString({ valueHex: new Uint8Array(8).buffer }),
        new asn1js.Integer({ value: 7 }),
      ],
    });
    expect(pbeIterations(OID.pbeSha3Des, legacy)).toBe(7n);
    expect(pbeIterations(OID.pbes2, new asn1js.Null())).toBeUndefined();
  });
});

describe('key-derivation iteration counts from the file are bounded', () => {
  it('refuses a PFX whose MAC asks for too many iterations, before deriving anything', async () => {
    for (const count of [HOSTILE_PKIJS, HOSTILE]) {
      const parsed = PFX.fromBER(new Uint8Array(pki.pfx).buffer);
      expect(parsed.macData).toBeDefined();
      if (parsed.macData) parsed.macData.iterations = count;
      const hostile = Buffer.from(der(parsed));
      expect(await code(loadPfx(hostile, 'Pfx!Passw0rd'))).toBe('PCERT_PFX_UNSUPPORTED');
    }
  });

  it('refuses an encrypted certificate safe with too many PBKDF2 iterations', async () => {
    const encrypted = new EncryptedData({
      version: 0,
      encryptedContentInfo: new EncryptedContentInfo({
        contentType: OID.data,
        contentEncryptionAlgorithm: pbes2(HOSTILE_PKIJS),
        encryptedContent: octets(new Uint8Array(32).buffer),
      }),
    });
    const certSafe = new ContentInfo({ contentType: OID.encryptedData, content: encrypted.toSchema() });
    expect(await code(loadPfx(pfxOf([certSafe]), 'pw'))).toBe('PCERT_PFX_UNSUPPORTED');
  });

  it('writes no PFX it would refuse to read', async () => {
    expect(await code(createPfx(pki.chain, 'pw', { iterations: MAX_KDF_ITERATIONS + 1 }))).toBe(
      'PCERT_OPTION_INVALID',
    );
  });

  it('refuses a shrouded key bag with 2^31−1 PBKDF2 iterations', async () => {
    const bag = new SafeBag({
      bagId: OID.shroudedKeyBag,
      bagValue: new PKCS8ShroudedKeyBag({
        encryptionAlgorithm: pbes2(HOSTILE),
        encryptedData: octets(new Uint8Array(32).buffer),
      }),
    });
    const keySafe = new ContentInfo({
      contentType: OID.data,
      content: octets(der(new SafeContents({ safeBags: [bag] }))),
    });
    expect(await code(loadPfx(pfxOf([keySafe]), 'pw'))).toBe('PCERT_PFX_UNSUPPORTED');
  });

  it('refuses an ENCRYPTED PRIVATE KEY asking for too many iterations, without naming the passphrase', () => {
    const info = new asn1js.Sequence({
      value: [pbes2(HOSTILE).toSchema(), octets(new Uint8Array(32).buffer)],
    });
    const keyPem = encodePem(new Uint8Array(info.toBER(false)), 'ENCRYPTED PRIVATE KEY');
    let err: unknown;
    try {
      loadPemChain(pki.chain.certPem, keyPem, { keyPassphrase: 'Secret!Pass' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProvisioningCertError);
    expect((err as ProvisioningCertError).code).toBe('PCERT_KEY_INVALID');
    expect((err as Error).message).toMatch(/iterations/);
    expect((err as Error).message).not.toContain('Secret!Pass');
  });
});
