import { amt, WsmanClient } from '@oobkit/wsman';
import { hasCode } from './errors.js';
import { openDeviceConnection, type TlsProfile } from './session.js';

/**
 * A fresh digest login to a provisioned device (TLS on 16993, no client certificate): true when
 * the device accepts `username`/`password`, false when it refuses them. Other failures throw.
 */
export async function verifyDeviceLogin(opts: {
  host: string;
  port: number;
  username: string;
  password: string;
  profile?: TlsProfile;
}): Promise<boolean> {
  const conn = openDeviceConnection({ host: opts.host, port: opts.port, profile: opts.profile ?? 'modern' });
  conn.credentials = { username: opts.username, password: opts.password };
  try {
    await amt.generalSettings.get(new WsmanClient({ dispatcher: conn.dispatcher, origin: conn.origin }));
    return true;
  } catch (err) {
    if (hasCode(err, 'DIGEST_WRONG_CREDENTIALS')) return false;
    throw err;
  } finally {
    await conn.close();
  }
}
