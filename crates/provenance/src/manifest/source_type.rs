//! The IPTC digital source type vocabulary, which C2PA actions use to say how content was made
//! (<http://cv.iptc.org/newscodes/digitalsourcetype/>), and what it says about AI.
//!
//! Only two terms declare content made by a generative model: `trainedAlgorithmicMedia` (made
//! by a model trained on sampled content) and `compositeWithTrainedAlgorithmicMedia` (a composite
//! that includes such content). `algorithmicMedia` is made by an algorithm *without* training
//! data (a procedural render) and `compositeSynthetic` a composite with synthetic elements of any
//! kind: neither declares AI.

use serde::Serialize;

/// The namespace every term of the vocabulary lives in.
pub const IPTC_NAMESPACE: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/";

/// The terms of the vocabulary (including the retired ones still found in files), each with
/// what it means.
pub const TERMS: &[(&str, &str)] = &[
    (
        "digitalCapture",
        "captured from a real-life scene by a digital device",
    ),
    (
        "computationalCapture",
        "captured from real life and processed by computational photography",
    ),
    ("negativeFilm", "digitised from a film negative"),
    ("positiveFilm", "digitised from a film positive"),
    ("print", "digitised from a print"),
    ("humanEdits", "edited by a person"),
    ("minorHumanEdits", "lightly edited by a person"),
    ("compositeCapture", "a composite of captured elements"),
    ("composite", "a composite of elements of several kinds"),
    (
        "algorithmicallyEnhanced",
        "captured content enhanced by an algorithm",
    ),
    ("dataDrivenMedia", "made by an algorithm from data"),
    ("digitalArt", "made by a person with digital tools"),
    ("digitalCreation", "made by a person with digital tools"),
    ("virtualRecording", "a recording of a virtual scene"),
    (
        "compositeSynthetic",
        "a composite that includes synthetic elements",
    ),
    (
        "trainedAlgorithmicMedia",
        "made by a generative model trained on sampled content (AI-generated)",
    ),
    (
        "compositeWithTrainedAlgorithmicMedia",
        "a composite that includes content made by a generative model (contains AI-generated parts)",
    ),
    (
        "algorithmicMedia",
        "made by an algorithm without training data (not AI)",
    ),
    ("screenCapture", "a capture of a screen"),
    ("softwareImage", "made by software"),
];

/// What a file's actions declare about AI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AiContent {
    /// The content was made by a generative model (`trainedAlgorithmicMedia` on `c2pa.created`).
    Generated,
    /// The content includes parts made by a generative model: `compositeWithTrainedAlgorithmicMedia`
    /// on any action, or `trainedAlgorithmicMedia` on an action that edits existing content.
    ContainsGenerated,
}

impl AiContent {
    /// For people: "AI-generated" or "contains AI-generated parts".
    pub fn describe(self) -> &'static str {
        match self {
            AiContent::Generated => "AI-generated",
            AiContent::ContainsGenerated => "contains AI-generated parts",
        }
    }
}

/// The term of an IPTC digital source type URI (`trainedAlgorithmicMedia`), or `None` when the
/// URI is not in the IPTC namespace or not a term of the vocabulary.
pub fn iptc_term(uri: &str) -> Option<&'static str> {
    let term = uri.strip_prefix(IPTC_NAMESPACE)?;
    TERMS.iter().find(|(t, _)| *t == term).map(|(t, _)| *t)
}

/// What one action's digital source type declares about AI, if anything.
pub fn ai_content(action: &str, digital_source_type: &str) -> Option<AiContent> {
    match iptc_term(digital_source_type)? {
        "trainedAlgorithmicMedia" if action == "c2pa.created" => Some(AiContent::Generated),
        "trainedAlgorithmicMedia" | "compositeWithTrainedAlgorithmicMedia" => {
            Some(AiContent::ContainsGenerated)
        }
        _ => None,
    }
}

/// The meaning of a digital source type URI, for evidence.
pub fn meaning(uri: &str) -> &'static str {
    iptc_term(uri)
        .and_then(|t| TERMS.iter().find(|(term, _)| *term == t))
        .map_or(
            "not a term of the IPTC digital source type vocabulary",
            |(_, m)| *m,
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(term: &str) -> String {
        format!("{IPTC_NAMESPACE}{term}")
    }

    /// Every term on `c2pa.created` and on `c2pa.edited`, against what the vocabulary says.
    #[test]
    fn only_the_trained_terms_declare_ai() {
        for (term, _) in TERMS {
            let created = ai_content("c2pa.created", &uri(term));
            let edited = ai_content("c2pa.edited", &uri(term));
            let (want_created, want_edited) = match *term {
                "trainedAlgorithmicMedia" => (
                    Some(AiContent::Generated),
                    Some(AiContent::ContainsGenerated),
                ),
                "compositeWithTrainedAlgorithmicMedia" => (
                    Some(AiContent::ContainsGenerated),
                    Some(AiContent::ContainsGenerated),
                ),
                _ => (None, None),
            };
            assert_eq!(created, want_created, "{term} on c2pa.created");
            assert_eq!(edited, want_edited, "{term} on c2pa.edited");
        }
    }

    #[test]
    fn only_the_iptc_namespace_counts() {
        assert_eq!(
            iptc_term(&uri("trainedAlgorithmicMedia")),
            Some("trainedAlgorithmicMedia")
        );
        assert_eq!(
            iptc_term("https://example.com/trainedAlgorithmicMedia"),
            None
        );
        assert_eq!(iptc_term(&uri("madeUpTerm")), None);
        assert_eq!(ai_content("c2pa.created", "trainedAlgorithmicMedia"), None);
        assert!(meaning(&uri("algorithmicMedia")).contains("not AI"));
    }
}
