/** `host:port`, with an IPv6 address in brackets (as in a URL). */
export function hostPort(a: { address: string; port: number }): string {
  return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
