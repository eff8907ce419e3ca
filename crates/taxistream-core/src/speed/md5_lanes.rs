//! Speeds up the trip ids' MD5 digests: eight messages hashed side by side in vector lanes.
//! Equivalent to `md5::Md5::digest` of each message, in order (tested against `md-5`).

// `wide`'s `u32x8` is SSE2 on x86_64 and NEON on aarch64, both always present: no CPU detection
// and no `unsafe`.
use wide::u32x8;

/// Messages hashed side by side.
pub const LANES: usize = 8;

type Lanes = [u32; LANES];

const INITIAL_STATE: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// The per-step constants of RFC 1321 (`floor(abs(sin(i + 1)) * 2^32)`).
const K: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// The MD5 digest of each message, in order (the same as `md5::Md5::digest` of each).
pub fn digest_all(messages: &[&[u8]]) -> Vec<[u8; 16]> {
    let mut digests = Vec::with_capacity(messages.len());
    for group in messages.chunks(LANES) {
        digests.extend_from_slice(&digest_group(group)[..group.len()]);
    }
    digests
}

/// Up to [`LANES`] messages; lanes without a message hash the empty one (and are ignored).
fn digest_group(messages: &[&[u8]]) -> [[u8; 16]; LANES] {
    let mut lengths = [0usize; LANES];
    for (length, message) in lengths.iter_mut().zip(messages) {
        *length = message.len();
    }
    // Padding: 0x80, zeros, then the bit length in 8 bytes, to a multiple of 64 bytes.
    let blocks = lengths.map(|length| (length + 8) / 64 + 1);
    let most_blocks = blocks.iter().copied().max().unwrap_or(1);
    let mut state: [Lanes; 4] = INITIAL_STATE.map(|word| [word; LANES]);
    let mut words = [[0u32; LANES]; 16];
    let mut block = [0u8; 64];
    for index in 0..most_blocks {
        for lane in 0..LANES {
            let message = messages.get(lane).copied().unwrap_or_default();
            padded_block(message, blocks[lane], index, &mut block);
            for (word, bytes) in words.iter_mut().zip(block.chunks_exact(4)) {
                word[lane] = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            }
        }
        let next = compress(&state, &words);
        // A lane whose message has no block `index` keeps its final state.
        for lane in 0..LANES {
            if index < blocks[lane] {
                for (word, next_word) in state.iter_mut().zip(&next) {
                    word[lane] = next_word[lane];
                }
            }
        }
    }
    let mut digests = [[0u8; 16]; LANES];
    for (lane, digest) in digests.iter_mut().enumerate() {
        for (bytes, word) in digest.chunks_exact_mut(4).zip(&state) {
            bytes.copy_from_slice(&word[lane].to_le_bytes());
        }
    }
    digests
}

/// Block `index` of the padded `message` (of `blocks` blocks); zeros past the last block.
fn padded_block(message: &[u8], blocks: usize, index: usize, block: &mut [u8; 64]) {
    let start = index * 64;
    let available = message.get(start..).unwrap_or_default();
    let taken = available.len().min(64);
    block[..taken].copy_from_slice(&available[..taken]);
    block[taken..].fill(0);
    if start + taken == message.len() && taken < 64 && start <= message.len() {
        block[taken] = 0x80;
    }
    if index + 1 == blocks {
        let bits = (message.len() as u64).wrapping_mul(8);
        block[56..].copy_from_slice(&bits.to_le_bytes());
    }
}

/// One MD5 compression of a block in every lane; returns the chained state.
fn compress(state: &[Lanes; 4], words: &[Lanes; 16]) -> [Lanes; 4] {
    let words = words.map(u32x8::from);
    let state = state.map(u32x8::from);
    let [mut a, mut b, mut c, mut d] = state;
    macro_rules! steps {
        ($function:ident, $first:expr, $message:expr, $shifts:expr) => {
            for group in 0..4 {
                let step = $first + group * 4;
                let word = |offset: usize| words[$message(step + offset - $first)];
                a = lane_step(a, b, c, d, $function, word(0), K[step], $shifts[0]);
                d = lane_step(d, a, b, c, $function, word(1), K[step + 1], $shifts[1]);
                c = lane_step(c, d, a, b, $function, word(2), K[step + 2], $shifts[2]);
                b = lane_step(b, c, d, a, $function, word(3), K[step + 3], $shifts[3]);
            }
        };
    }
    steps!(f, 0, |i: usize| i, [7, 12, 17, 22]);
    steps!(g, 16, |i: usize| (5 * i + 1) % 16, [5, 9, 14, 20]);
    steps!(h, 32, |i: usize| (3 * i + 5) % 16, [4, 11, 16, 23]);
    steps!(i, 48, |i: usize| (7 * i) % 16, [6, 10, 15, 21]);
    [
        (state[0] + a).to_array(),
        (state[1] + b).to_array(),
        (state[2] + c).to_array(),
        (state[3] + d).to_array(),
    ]
}

/// `b + rotl(a + fun(b, c, d) + k + w, s)` in every lane (additions wrap).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lane_step<F: Fn(u32x8, u32x8, u32x8) -> u32x8>(
    a: u32x8,
    b: u32x8,
    c: u32x8,
    d: u32x8,
    fun: F,
    w: u32x8,
    k: u32,
    s: u32,
) -> u32x8 {
    let sum = a + fun(b, c, d) + u32x8::splat(k) + w;
    b + ((sum << s) | (sum >> (32 - s)))
}

#[inline(always)]
fn f(x: u32x8, y: u32x8, z: u32x8) -> u32x8 {
    z ^ (x & (y ^ z))
}

#[inline(always)]
fn g(x: u32x8, y: u32x8, z: u32x8) -> u32x8 {
    y ^ (z & (x ^ y))
}

#[inline(always)]
fn h(x: u32x8, y: u32x8, z: u32x8) -> u32x8 {
    x ^ y ^ z
}

#[inline(always)]
fn i(x: u32x8, y: u32x8, z: u32x8) -> u32x8 {
    y ^ (x | !z)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};
    use proptest::prelude::*;

    fn reference(messages: &[&[u8]]) -> Vec<[u8; 16]> {
        messages.iter().map(|m| Md5::digest(m).into()).collect()
    }

    #[test]
    fn known_digests() {
        // RFC 1321's test suite.
        let digests = digest_all(&[b"", b"abc", b"message digest"]);
        let hex: Vec<String> = digests
            .iter()
            .map(|d| d.iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        assert_eq!(
            hex,
            [
                "d41d8cd98f00b204e9800998ecf8427e",
                "900150983cd24fb0d6963f7d28e17f72",
                "f96b697d7cb7938d525a2f31aaf161d0"
            ]
        );
    }

    #[test]
    fn every_length_around_the_block_boundaries() {
        let data: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        let messages: Vec<&[u8]> = (0..=300).map(|len| &data[..len]).collect();
        assert_eq!(digest_all(&messages), reference(&messages));
    }

    #[test]
    fn no_message_no_digest() {
        assert!(digest_all(&[]).is_empty());
    }

    proptest! {
        #[test]
        fn equals_md5_of_each(messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..400), 0..20)) {
            let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            prop_assert_eq!(digest_all(&messages), reference(&messages));
        }
    }
}
