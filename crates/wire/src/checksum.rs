//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624),
//! shared by the IPv4 and UDP views.
//!
//! Sums are kept in a `u64` accumulator and folded to 16 bits at the end;
//! since 2^16 ≡ 1 (mod 2^16 − 1), adding 32-bit words equals adding their
//! 16-bit halves. The bulk is summed as native-endian words, which the
//! compiler vectorises, and byte-swapped once: the one's complement sum does
//! not depend on byte order (RFC 1071 section 2(B)).

/// Adds `data` to the running sum `acc` as big-endian 16-bit words; an odd
/// trailing byte is padded with a zero byte. Segments summed one after another
/// must each start at an even offset of the checksummed data.
#[inline]
pub fn sum(acc: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(4);
    let mut native = 0u64;
    for word in &mut words {
        native += u64::from(u32::from_ne_bytes([word[0], word[1], word[2], word[3]]));
    }
    let folded = fold(native);
    let big_endian = if cfg!(target_endian = "little") {
        folded.swap_bytes()
    } else {
        folded
    };
    let mut acc = acc + u64::from(big_endian);
    let mut pairs = words.remainder().chunks_exact(2);
    for pair in &mut pairs {
        acc += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = pairs.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Folds a running sum into a 16-bit one's complement sum (end-around carry).
#[inline]
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The Internet checksum of `data`: the one's complement of its one's
/// complement sum. Data that already holds its checksum yields 0.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(0, data))
}

/// RFC 1624 eqn. 3, `HC' = ~(~HC + ~m + m')`: the checksum after the bytes
/// `old` (summed into `old_sum` with [`sum`]) were replaced by bytes summing
/// to `new_sum`, without touching the rest of the data.
#[inline]
pub fn update(checksum: u16, old_sum: u64, new_sum: u64) -> u16 {
    !fold(u64::from(!checksum) + u64::from(!fold(old_sum)) + new_sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071 section 3's worked example: words 0001 f203 f4f5 f6f7 sum to ddf2.
    #[test]
    fn rfc1071_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(0, &data)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(fold(sum(0, &[0x12, 0x34, 0x56])), 0x1234 + 0x5600);
        let mut data = [0xab_u8; 13];
        data[12] = 0xcd;
        let words: u64 = (0..6).map(|_| 0xabab_u64).sum::<u64>() + 0xcd00;
        assert_eq!(fold(sum(0, &data)), fold(words));
    }

    #[test]
    fn fast_sum_equals_plain_16_bit_sum() {
        let data: Vec<u8> = (0..1501u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in (0..70).chain([1000, 1001, 1500, 1501]) {
            let mut narrow = 5u64;
            for pair in data[..len].chunks(2) {
                narrow += u64::from(pair[0]) << 8 | u64::from(*pair.get(1).unwrap_or(&0));
            }
            assert_eq!(fold(sum(5, &data[..len])), fold(narrow), "length {len}");
        }
        assert_eq!(fold(sum(0, &[0xff; 64])), 0xffff);
    }

    #[test]
    fn incremental_update_matches_recompute() {
        let mut data: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
        let before = checksum(&data);
        let old = sum(0, &data[10..30]);
        for (i, b) in data[10..30].iter_mut().enumerate() {
            *b = 0xff - i as u8;
        }
        let new = sum(0, &data[10..30]);
        assert_eq!(update(before, old, new), checksum(&data));
    }
}
