//! Property tests of the payload and its channel code: encoding then decoding gives the payload
//! back, under any key; one corrupted coded bit is corrected or refused, never mis-decoded; and
//! parsing a payload's hex never panics and round-trips.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use proptest::prelude::*;
use verity_provenance::marks::Payload;
use verity_provenance::marks::payload::{CODED_BITS, decode, encode};

fn payload() -> impl Strategy<Value = Payload> {
    (0u32..1 << 20, 0u64..1 << 40).prop_map(|(issuer, asset)| Payload::new(issuer, asset))
}

/// The coded bits as the soft values a clean channel gives: +1 for a one, -1 for a zero.
fn soft(bits: &[bool]) -> Vec<f32> {
    bits.iter().map(|&b| if b { 1.0 } else { -1.0 }).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn decoding_the_encoding_gives_the_payload(key in any::<[u8; 32]>(), p in payload()) {
        let coded = encode(&key, p);
        prop_assert_eq!(coded.len(), CODED_BITS);
        for issuer in [None, Some(p.issuer)] {
            let d = decode(&key, &soft(&coded), issuer).unwrap();
            prop_assert_eq!(d.payload, p);
            prop_assert!(d.tag_ok);
            prop_assert!((d.agreement - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn one_corrupted_bit_is_corrected_or_refused(
        key in any::<[u8; 32]>(),
        p in payload(),
        at in 0..CODED_BITS,
        erase in any::<bool>(),
    ) {
        let mut s = soft(&encode(&key, p));
        // A flipped bit, or one the channel lost.
        s[at] = if erase { 0.0 } else { -s[at] };
        let d = decode(&key, &s, None).unwrap();
        prop_assert!(
            d.payload == p || !d.tag_ok,
            "mis-decoded {:?} as {:?} with its check passing", p, d.payload
        );
        // The code's free distance (15) corrects one error outright.
        prop_assert_eq!(d.payload, p);
    }

    #[test]
    fn a_word_under_another_key_fails_its_check(
        key in any::<[u8; 32]>(),
        other in any::<[u8; 32]>(),
        p in payload(),
    ) {
        prop_assume!(key != other);
        let d = decode(&other, &soft(&encode(&key, p)), None).unwrap();
        prop_assert!(!d.tag_ok, "a foreign key's word passed the check");
    }

    #[test]
    fn payload_hex_round_trips(p in payload()) {
        prop_assert_eq!(Payload::from_hex(&p.to_hex()), Some(p));
        prop_assert_eq!(Payload::from_u64(p.to_u64()), p);
    }

    #[test]
    fn any_text_parses_as_a_payload_or_not_without_panicking(s in "\\PC{0,40}") {
        if let Some(p) = Payload::from_hex(&s) {
            prop_assert_eq!(p.to_hex().len(), 16);
        }
    }
}
