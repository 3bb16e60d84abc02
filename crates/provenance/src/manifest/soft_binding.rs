//! The `c2pa.soft-binding` assertion (C2PA 2.2 §18.10), typed: what verity writes for its
//! spectral mark and reads back to match a payload to a manifest.
//!
//! c2pa-rs has a `SoftBinding` type too, but it holds each block's value as bytes, where the
//! specification's CDDL has a text string (`value: tstr`, in the algorithm's own format) and
//! every manifest verity has signed holds the payload as 16 hex digits. This type follows the
//! specification.

use serde::{Deserialize, Serialize};

use crate::marks::Payload;
use crate::marks::spectral::ALGORITHM;

/// The assertion's label.
pub const LABEL: &str = "c2pa.soft-binding";

/// A soft-binding assertion: the algorithm and the values it computed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftBinding {
    /// The algorithm's name in the C2PA soft-binding algorithm list, e.g.
    /// `org.verity.spectral.3`.
    pub alg: String,
    pub blocks: Vec<SoftBindingBlock>,
    /// Padding, kept empty.
    #[serde(default)]
    pub pad: Vec<u8>,
}

/// One value and where in the asset it applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftBindingBlock {
    /// Where the value applies; empty for the whole asset.
    #[serde(default)]
    pub scope: serde_json::Map<String, serde_json::Value>,
    /// The value, in the algorithm's own text format (16 hex digits for verity's payloads).
    pub value: String,
}

impl SoftBinding {
    /// The soft binding of a spectral mark's payload over the whole asset.
    pub fn for_payload(payload: Payload) -> Self {
        SoftBinding {
            alg: ALGORITHM.to_string(),
            blocks: vec![SoftBindingBlock {
                scope: serde_json::Map::new(),
                value: payload.to_hex(),
            }],
            pad: Vec::new(),
        }
    }

    /// The assertion as the manifest builder takes it: its label and JSON.
    pub fn to_assertion(&self) -> (String, serde_json::Value) {
        // A struct of strings, maps and lists always serializes.
        let json = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        (LABEL.to_string(), json)
    }

    /// Reads an assertion's JSON; `None` when it is not a soft binding this type can read.
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        serde_json::from_value(v.clone()).ok()
    }

    /// The (algorithm, value) pairs.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.blocks
            .iter()
            .map(|b| (self.alg.as_str(), b.value.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_is_what_earlier_versions_wrote() {
        let p = Payload::from_u64(0x1986_a785_60d8_9ca7);
        let (label, json) = SoftBinding::for_payload(p).to_assertion();
        assert_eq!(label, "c2pa.soft-binding");
        assert_eq!(
            json,
            serde_json::json!({
                "alg": ALGORITHM,
                "blocks": [ { "scope": {}, "value": "1986a78560d89ca7" } ],
                "pad": [],
            })
        );
        let back = SoftBinding::from_json(&json).unwrap();
        assert_eq!(
            back.pairs().collect::<Vec<_>>(),
            vec![(ALGORITHM, "1986a78560d89ca7")]
        );
        // Another tool's soft binding with a byte-string value is not misread as a payload.
        assert!(
            SoftBinding::from_json(
                &serde_json::json!({"alg": "x", "blocks": [{"scope": {}, "value": [1, 2]}]})
            )
            .is_none()
        );
    }
}
