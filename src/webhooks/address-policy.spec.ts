import { describe, expect, it } from 'vitest';
import { ipv6Bytes, isPublicAddress, RefusedAddressError, resolveAllowed, type Resolver } from './address-policy.js';

describe('isPublicAddress', () => {
  it.each([
    '0.0.0.0',
    '0.1.2.3',
    '10.0.0.1',
    '10.255.255.255',
    '100.64.0.1',
    '127.0.0.1',
    '127.255.0.9',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.0.0.8',
    '192.0.2.10',
    '192.88.99.1',
    '192.168.1.1',
    '198.18.0.1',
    '198.19.255.255',
    '198.51.100.7',
    '203.0.113.9',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '[::1]',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '64:ff9b::10.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '::127.0.0.1',
    'fc00::1',
    'fd12:3456:789a::1',
    'fe80::1',
    'fe80::1%eth0',
    'fec0::1',
    'ff02::1',
    '2001:db8::1',
    '2001::1',
    '2002:0a00:0001::1',
    '3fff::1',
    '100::1',
    'not an address',
    '',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '93.184.215.14',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '169.253.255.255',
    '192.169.0.1',
    '223.255.255.254',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '[2001:4860:4860::8888]',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('accepts %s', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe('ipv6Bytes', () => {
  it('expands ::, keeps both sides and reads a dotted IPv4 tail', () => {
    expect(ipv6Bytes('::1')).toEqual([...new Array(15).fill(0), 1]);
    expect(ipv6Bytes('2001:db8::ff00:42:8329').slice(0, 4)).toEqual([0x20, 0x01, 0x0d, 0xb8]);
    expect(ipv6Bytes('::ffff:10.1.2.3')).toEqual([...new Array(10).fill(0), 0xff, 0xff, 10, 1, 2, 3]);
    expect(ipv6Bytes('1:2:3:4:5:6:7:8')).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
  });
});

describe('resolveAllowed', () => {
  const resolver =
    (...addresses: string[]): Resolver =>
    () =>
      Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));

  it('accepts a host whose every address is public', async () => {
    await expect(resolveAllowed('hooks.example', resolver('1.1.1.1', '2606:4700:4700::1111'))).resolves.toHaveLength(2);
  });

  it('refuses a host with one non-public address among public ones', async () => {
    await expect(resolveAllowed('hooks.example', resolver('1.1.1.1', '10.0.0.5'))).rejects.toBeInstanceOf(
      RefusedAddressError,
    );
  });

  it.each(['127.0.0.1', '10.1.2.3', '169.254.169.254', '::1', '::ffff:192.168.0.1'])(
    'refuses a host that resolves to %s',
    async (address) => {
      await expect(resolveAllowed('rebind.example', resolver(address))).rejects.toBeInstanceOf(RefusedAddressError);
    },
  );

  it('refuses a host that resolves to nothing', async () => {
    await expect(resolveAllowed('empty.example', resolver())).rejects.toBeInstanceOf(RefusedAddressError);
  });

  it('checks an IP literal without resolving it', async () => {
    const never: Resolver = () => Promise.reject(new Error('resolved'));
    await expect(resolveAllowed('[::1]', never)).rejects.toBeInstanceOf(RefusedAddressError);
    await expect(resolveAllowed('8.8.8.8', never)).resolves.toEqual([{ address: '8.8.8.8', family: 4 }]);
  });

  it('passes a resolution failure on', async () => {
    const failing: Resolver = () =>
      Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    await expect(resolveAllowed('nowhere.invalid', failing)).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
