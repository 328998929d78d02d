/** Real block headers with their known hashes (display order). */
export interface HeaderVector {
  name: string;
  header: string; // 80 bytes hex, raw header order
  powHash: string; // scrypt, display order
  blockHash?: string; // SHA256d, display order
  meetsBits: boolean;
}

function hdr(version: string, prevRaw: string, merkleDisplay: string, time: number, bits: string, nonce: number): string {
  const le32 = (n: number) => Buffer.from(new Uint32Array([n >>> 0]).buffer).toString('hex');
  return (
    version +
    prevRaw +
    Buffer.from(merkleDisplay, 'hex').reverse().toString('hex') +
    le32(time) +
    Buffer.from(bits, 'hex').reverse().toString('hex') +
    le32(nonce)
  );
}

export const VECTORS: HeaderVector[] = [
  {
    name: 'Litecoin genesis',
    header: hdr('01000000', '00'.repeat(32), '97ddfbbae6be97fd6cdf3e7ca13232a3afff2353e29badfab7f73011edd4ced9', 1317972665, '1e0ffff0', 2084524493),
    powHash: '0000050c34a64b415b6b15b37f2216634b5b1669cb9a2e38d76f7213b0671e00',
    blockHash: '12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2',
    meetsBits: true,
  },
  {
    name: 'Dogecoin genesis',
    header: hdr('01000000', '00'.repeat(32), '5b2a3f53f605d62c53e62932dac6925e3d74afa5a4b459745c36d42d0ed26a69', 1386325540, '1e0ffff0', 99943),
    powHash: '', // filled by consensus of both kernels below; must meet nBits
    blockHash: '1a91e3dace36e2be3bf030a65679fe821aa1d6ef92e7c9902eb318182c355691',
    meetsBits: true,
  },
  // Litecoin mainnet headers used by Litecoin Core's scrypt_tests.cpp (expected scrypt hashes there).
  {
    name: 'LTC scrypt_tests #1',
    header:
      '020000004c1271c211717198227392b029a64a7971931d351b387bb80db027f270411e398a07046f7d4a08dd815412a8712f874a7ebf0507e3878bd24e20a3b73fd750a667d2f451eac7471b00de6659',
    powHash: '00000000002bef4107f882f6115e0b01f348d21195dacd3582aa2dabd7985806',
    meetsBits: true,
  },
  {
    name: 'LTC scrypt_tests #2',
    header:
      '0200000011503ee6a855e900c00cfdd98f5f55fffeaee9b6bf55bea9b852d9de2ce35828e204eef76acfd36949ae56d1fbe81c1ac9c0209e6331ad56414f9072506a77f8c6faf551eac7471b00389d01',
    powHash: '00000000003a0d11bdd5eb634e08b7feddcfbbf228ed35d250daf19f1c88fc94',
    meetsBits: true,
  },
  {
    name: 'LTC scrypt_tests #3',
    header:
      '02000000a72c8a177f523946f42f22c3e86b8023221b4105e8007e59e81f6beb013e29aaf635295cb9ac966213fb56e046dc71df5b3f7f67ceaeab24038e743f883aff1aaafaf551eac7471b0166249b',
    powHash: '00000000000b40f895f288e13244728a6c2d9d59d8aff29c65f8dd5114a8ca81',
    meetsBits: true,
  },
  {
    name: 'LTC scrypt_tests #4',
    header:
      '010000007824bc3a8a1b4628485eee3024abd8626721f7f870f8ad4d2f33a27155167f6a4009d1285049603888fe85a84b6c803a53305a8d497965a5e896e1a00568359589faf551eac7471b0065434e',
    powHash: '00000000003007005891cd4923031e99d8e8d72f6e8e7edc6a86181897e105fe',
    meetsBits: true,
  },
  {
    name: 'LTC scrypt_tests #5',
    header:
      '0200000050bfd4e4a307a8cb6ef4aef69abc5c0f2d579648bd80d7733e1ccc3fbc90ed664a7f74006cb11bde87785f229ecd366c2d4e44432832580e0608c579e4cb76f383f7f551eac7471b00c36982',
    powHash: '000000000018f0b426a4afc7130ccb47fa02af730d345b4fe7c7724d3800ec8c',
    meetsBits: true,
  },
];
