/**
 * The SSRF guard with a fake resolver: forbidden answers are refused before any socket opens.
 * Nothing here sends a packet anywhere (no real resolver is ever asked).
 */
import { describe, expect, it } from 'vitest';
import { networkGrantOf } from '../../src/net/allow-list.ts';
import { DestinationGuard, pinnedLookup, type Resolver } from '../../src/net/destination-guard.ts';

const ANY = networkGrantOf(true).grant;
const fake = (answers: Record<string, string[]>) => {
  const calls: string[] = [];
  const resolve: Resolver = async (host) => {
    calls.push(host);
    const a = answers[host];
    if (!a) throw new Error(`ENOTFOUND ${host}`);
    return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { resolve, calls };
};

describe('destination guard', () => {
  it.each([
    ['loopback', '127.0.0.1'],
    ['private', '10.0.0.5'],
    ['private', '192.168.0.10'],
    ['link-local', '169.254.10.1'],
    ['metadata', '169.254.169.254'],
    ['cgnat', '100.64.1.1'],
    ['multicast', '239.1.1.1'],
    ['this-network', '0.0.0.0'],
    ['broadcast', '255.255.255.255'],
    ['loopback', '::1'],
    ['metadata', 'fd00:ec2::254'],
    ['unique-local', 'fd12::1'],
    ['ipv4-mapped', '::ffff:169.254.169.254'],
    ['link-local', 'fe80::1'],
  ])('refuses a name resolving to a %s address (%s)', async (cls, address) => {
    const { resolve } = fake({ 'evil.test': [address] });
    const guard = new DestinationGuard({ resolve });
    await expect(guard.admit({ host: 'evil.test', port: 443 }, ANY)).rejects.toMatchObject({
      code: 'destination_forbidden',
      message: expect.stringContaining(`a ${cls} address`),
      details: { class: cls },
    });
  });

  it('refuses IP literals of forbidden classes without asking the resolver', async () => {
    const { resolve, calls } = fake({});
    const guard = new DestinationGuard({ resolve });
    for (const host of ['127.0.0.1', '[::1]', '10.1.1.1', '169.254.169.254'])
      await expect(guard.admit({ host, port: 80 }, ANY)).rejects.toMatchObject({ code: 'destination_forbidden' });
    expect(calls).toEqual([]);
  });

  it('refuses a name with one public and one private answer (no mixing)', async () => {
    const { resolve } = fake({ 'mixed.test': ['93.184.216.34', '10.0.0.1'] });
    await expect(new DestinationGuard({ resolve }).admit({ host: 'mixed.test', port: 443 }, ANY)).rejects.toMatchObject(
      {
        code: 'destination_forbidden',
      },
    );
  });

  it('resolves once and pins the checked address (a rebinding resolver cannot swap it)', async () => {
    let n = 0;
    const resolve: Resolver = async () => [{ address: n++ === 0 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
    const guard = new DestinationGuard({ resolve });
    const admitted = await guard.admit({ host: 'rebind.test', port: 443 }, ANY);
    expect(admitted).toEqual({ host: 'rebind.test', port: 443, address: '93.184.216.34', family: 4 });
    expect(n).toBe(1);
    // A client given this lookup never resolves again.
    const answer = await new Promise((r) => pinnedLookup(admitted)('rebind.test', {}, (_e, a) => r(a)));
    expect(answer).toBe('93.184.216.34');
    expect(n).toBe(1);
  });

  it('admits forbidden addresses only where the operator allow-list says so', async () => {
    const { resolve } = fake({ 'db.internal': ['10.1.2.3'], 'other.internal': ['10.9.9.9'] });
    const guard = new DestinationGuard({ resolve, operatorAllow: ['10.1.2.0/24', 'named.internal', '127.0.0.1'] });
    await expect(guard.admit({ host: 'db.internal', port: 5432 }, ANY)).resolves.toMatchObject({ address: '10.1.2.3' });
    await expect(guard.admit({ host: 'other.internal', port: 5432 }, ANY)).rejects.toMatchObject({
      code: 'destination_forbidden',
    });
    await expect(guard.admit({ host: '127.0.0.1', port: 9 }, ANY)).resolves.toMatchObject({ address: '127.0.0.1' });
    // The mapped spelling of an admitted IPv4 address is still refused (no v6 entry admits it).
    await expect(guard.admit({ host: '::ffff:127.0.0.1', port: 9 }, ANY)).rejects.toMatchObject({
      details: { class: 'ipv4-mapped' },
    });
  });

  it("applies the function's own allow-list by name, port and CIDR", async () => {
    const { resolve } = fake({ 'api.example.com': ['93.184.216.34'], 'cdn.example.net': ['93.184.216.99'] });
    const guard = new DestinationGuard({ resolve });
    const grant = networkGrantOf({ allow: ['api.example.com:443', '93.184.216.96/28'] }).grant;
    await expect(guard.admit({ host: 'api.example.com', port: 443 }, grant)).resolves.toBeTruthy();
    await expect(guard.admit({ host: 'api.example.com', port: 80 }, grant)).rejects.toMatchObject({
      message: expect.stringContaining('not in the function'),
    });
    await expect(guard.admit({ host: 'cdn.example.net', port: 8443 }, grant)).resolves.toMatchObject({
      address: '93.184.216.99',
    });
    const none = networkGrantOf(false).grant;
    await expect(guard.admit({ host: 'api.example.com', port: 443 }, none)).rejects.toMatchObject({
      message: expect.stringContaining('no network permission'),
    });
  });

  it('never admits the worker itself, even when the operator admits loopback', async () => {
    const guard = new DestinationGuard({
      resolve: fake({}).resolve,
      operatorAllow: ['127.0.0.0/8', '::1'],
      protected: () => [{ host: '127.0.0.1', port: 8080 }],
    });
    for (const host of ['127.0.0.1', '127.0.0.2'])
      await expect(guard.admit({ host, port: 8080 }, ANY)).rejects.toMatchObject({
        message: expect.stringContaining("worker's own API"),
      });
    await expect(guard.admit({ host: '127.0.0.1', port: 8081 }, ANY)).resolves.toBeTruthy();
    const wildcard = new DestinationGuard({
      operatorAllow: ['::1'],
      protected: () => [{ host: '0.0.0.0', port: 8080 }],
    });
    await expect(wildcard.admit({ host: '::1', port: 8080 }, ANY)).rejects.toMatchObject({
      message: expect.stringContaining("worker's own API"),
    });
  });

  it('refuses names that do not resolve, bad ports and junk hosts', async () => {
    const guard = new DestinationGuard({ resolve: fake({}).resolve });
    await expect(guard.admit({ host: 'nx.test', port: 80 }, ANY)).rejects.toMatchObject({
      message: expect.stringContaining('does not resolve'),
    });
    await expect(guard.admit({ host: 'a.test', port: 0 }, ANY)).rejects.toMatchObject({
      code: 'destination_forbidden',
    });
    await expect(guard.admit({ host: 'a b', port: 80 }, ANY)).rejects.toMatchObject({ code: 'destination_forbidden' });
    expect(() => new DestinationGuard({ operatorAllow: ['https://x'] })).toThrow(/http.allow/);
  });
});
