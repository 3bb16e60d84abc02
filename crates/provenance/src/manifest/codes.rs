//! C2PA validation status codes, each with a one-line explanation in plain words.

/// The status codes verity's decisions turn on, by name: code that judges trust matches these,
/// not strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// The signer chains to a trusted anchor.
    SigningCredentialTrusted,
    /// The signer does not chain to a trusted anchor: a matter of whose trust store, not damage.
    SigningCredentialUntrusted,
    /// verity's: a manifest store is in the file but cannot be parsed.
    ManifestUnreadable,
    /// verity's: the manifest is kept at a URL.
    ManifestRemote,
    /// verity's: c2pa could not parse the container, and no manifest store is in it.
    ContainerUnparsed,
    /// verity's: the container cannot carry a manifest.
    ContainerUnsupported,
}

impl Code {
    /// The code as it appears in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::SigningCredentialTrusted => "signingCredential.trusted",
            Code::SigningCredentialUntrusted => "signingCredential.untrusted",
            Code::ManifestUnreadable => "verity.manifest.unreadable",
            Code::ManifestRemote => "verity.manifest.remote",
            Code::ContainerUnparsed => "verity.container.unparsed",
            Code::ContainerUnsupported => "verity.container.unsupported",
        }
    }
}

/// A plain-words explanation of a C2PA status code.
pub fn explain(code: &str) -> &'static str {
    match code {
        // success
        "claimSignature.validated" => "the claim's signature is cryptographically valid",
        "claimSignature.insideValidity" => {
            "the signing certificate was valid when the claim was signed"
        }
        "signingCredential.trusted" => "the signing certificate chains to a trusted anchor",
        "signingCredential.ocsp.notRevoked" => "the signing certificate has not been revoked",
        "timeStamp.trusted" => "the signing time was attested by a trusted time-stamp authority",
        "timeStamp.validated" => "the time-stamp is valid",
        "assertion.hashedURI.match" => "an assertion matches the hash the claim recorded for it",
        "assertion.dataHash.match" => "the file's bytes match the hash the manifest recorded",
        "assertion.bmffHash.match" => {
            "the video and audio data match the hash the manifest recorded"
        }
        "assertion.boxesHash.match" => "the file's boxes match the hash the manifest recorded",
        "ingredient.manifest.validated" => "an ingredient's own manifest is valid",
        "ingredient.claimSignature.validated" => "an ingredient's claim signature is valid",
        "ingredient.hashedURI.match" => "an ingredient matches the hash the claim recorded for it",
        "timeOfSigning.insideValidity" => "the signing time lies inside the certificate's validity",
        // failure
        "claimSignature.missing" => "the claim has no signature",
        "claimSignature.mismatch" => {
            "the claim's signature does not match its content: the manifest was altered after signing"
        }
        "claimSignature.outsideValidity" => {
            "the claim was signed outside the certificate's validity period"
        }
        "signingCredential.untrusted" => {
            "the signing certificate does not chain to any trusted anchor (its root is not among the trust anchors given)"
        }
        "signingCredential.invalid" => {
            "the signing certificate breaks the C2PA certificate profile or cannot be parsed"
        }
        "signingCredential.expired" => {
            "the signing certificate had expired when the claim was signed"
        }
        "signingCredential.ocsp.revoked" => "the signing certificate has been revoked",
        "signingCredential.ocsp.unknown" => {
            "the revocation status of the signing certificate is unknown"
        }
        "assertion.hashedURI.mismatch" => {
            "an assertion was changed after signing: its hash no longer matches the claim"
        }
        "assertion.missing" => "an assertion the claim refers to is missing",
        "assertion.undeclared" => "the manifest holds an assertion the claim does not list",
        "assertion.inaccessible" => "an assertion cannot be read",
        "assertion.json.invalid" | "assertion.cbor.invalid" => "an assertion is malformed",
        "assertion.action.ingredientMismatch" => {
            "an action refers to an ingredient that does not match"
        }
        "assertion.action.malformed" => "an action is malformed",
        "assertion.dataHash.mismatch" => {
            "the file's bytes changed after signing: the content no longer matches the manifest"
        }
        "assertion.bmffHash.mismatch" => {
            "the video or audio data changed after signing: the content no longer matches the manifest"
        }
        "assertion.boxesHash.mismatch" => "the file's boxes changed after signing",
        "assertion.dataHash.malformed" | "assertion.bmffHash.malformed" => {
            "the content hash in the manifest is malformed"
        }
        "assertion.multipleHardBindings" => "the manifest has more than one content hash",
        "claim.missing" => "the manifest has no claim",
        "claim.multiple" => "the manifest has more than one claim",
        "claim.malformed" | "claim.cbor.invalid" => "the claim is malformed",
        "claim.hardBindings.missing" => "the claim does not bind the content with a hash",
        "claim.required.missing" => "the claim lacks a required field",
        "manifest.inaccessible" => "the manifest cannot be read",
        "manifest.multipleParents" => "the manifest names more than one parent ingredient",
        "manifest.unreferenced" => "the file holds a manifest that nothing refers to",
        "manifest.timestamp.invalid" => "the manifest's time-stamp is invalid",
        "manifest.compressed.invalid" => "the compressed manifest cannot be decompressed",
        "algorithm.unsupported" => "the manifest uses an algorithm this validator does not support",
        "algorithm.deprecated" => "the manifest uses a deprecated algorithm",
        "ingredient.hashedURI.mismatch" => "an ingredient changed after signing",
        "general.error" => "validation failed with an unexpected error",
        // informational, and the codes of features verity does not use itself but meets in
        // files others made (redaction, update manifests, collection hashes, CAWG identity)
        "signingCredential.ocsp.skipped" => {
            "the certificate's revocation status was not checked online (verity validates offline)"
        }
        "signingCredential.ocsp.inaccessible" => {
            "the certificate's revocation status could not be fetched"
        }
        "assertion.dataHash.additionalExclusionsPresent"
        | "assertion.bmffHash.additionalExclusionsPresent"
        | "assertion.boxesHash.additionalExclusionsPresent" => {
            "the content hash leaves out more of the file than the manifest itself (allowed, but \
             those parts are not covered)"
        }
        "assertion.accessible" => "an assertion the claim refers to could be read",
        "assertion.outsideManifest" => "the claim refers to an assertion outside its manifest",
        "assertion.notRedacted" => "an assertion listed as redacted is still present",
        "assertion.selfRedacted" => "a manifest redacts one of its own assertions",
        "assertion.action.redacted" => "an action assertion was redacted, which is not allowed",
        "assertion.action.redactionMismatch" => {
            "a redaction action does not match the assertion that was redacted"
        }
        "assertion.action.softBindingMissing" => {
            "a watermarked action is present, but no soft-binding assertion names the mark"
        }
        "assertion.dataHash.redacted" | "assertion.hardBinding.redacted" => {
            "the content hash was redacted, which is not allowed"
        }
        "assertion.boxesHash.malformed" => "the box hash assertion cannot be parsed",
        "assertion.boxesHash.unknownBox" => "the box hash names a box the file does not have",
        "assertion.collectionHash.match" => "the collection's files match their hashes",
        "assertion.collectionHash.mismatch" => "a file of the collection changed after signing",
        "assertion.collectionHash.malformed" => "the collection hash assertion cannot be parsed",
        "assertion.collectionHash.incorrectFileCount" => {
            "the collection does not hold the number of files its hash lists"
        }
        "assertion.collectionHash.invalidURI" => "the collection hash names a file it cannot reach",
        "assertion.ingredient.malformed" => "an ingredient assertion cannot be parsed",
        "assertion.metadata.disallowed" => "a metadata assertion holds a field that is not allowed",
        "assertion.required.missing" => "an assertion the specification requires is missing",
        "assertion.timestamp.malformed" => "a time-stamp assertion cannot be parsed",
        "hashedURI.mismatch" => "a reference in the manifest does not match its hash",
        "hashedURI.missing" => "a reference in the manifest points to nothing",
        "ingredient.manifest.mismatch" => "an ingredient's own manifest changed after it was added",
        "ingredient.manifest.missing" => {
            "the manifest of an ingredient is referred to but is not in the file"
        }
        "ingredient.claimSignature.mismatch" => {
            "an ingredient's claim signature changed after the ingredient was added"
        }
        "ingredient.claimSignature.missing" => "an ingredient's claim signature is missing",
        "ingredient.unknownProvenance" => "an ingredient has no manifest of its own",
        "manifest.unknownProvenance" => "the manifest's own origin cannot be established",
        "manifest.timestamp.wrongParents" => {
            "a time-stamp manifest is attached to the wrong parent"
        }
        "manifest.update.invalid" => "an update manifest does something updates may not do",
        "manifest.update.wrongParents" => "an update manifest is attached to the wrong parent",
        "timeStamp.malformed" => "the time-stamp cannot be parsed",
        "timeStamp.mismatch" => "the time-stamp does not cover this signature",
        "timeStamp.outsideValidity" => {
            "the time-stamp authority's certificate was not valid at the time it attests"
        }
        "timeStamp.untrusted" => "the time-stamp authority is not trusted",
        "cawg.identity.assertion.duplicate" => "a CAWG identity assertion appears twice",
        "cawg.identity.assertion.mismatch" => {
            "a CAWG identity assertion does not match the assertions it signs"
        }
        "cawg.identity.cbor.invalid" => "a CAWG identity assertion cannot be parsed",
        "cawg.identity.pad.invalid" => "a CAWG identity assertion's padding is invalid",
        "cawg.x509.algorithm.unsupported" => {
            "a CAWG identity is signed with an algorithm that is not supported"
        }
        "cawg.x509.credential.invalid" => "a CAWG identity's certificate is invalid",
        "cawg.x509.credential.trusted" => "a CAWG identity's certificate is trusted",
        "cawg.x509.credential.untrusted" => {
            "a CAWG identity's certificate does not chain to a trusted anchor"
        }
        "cawg.x509.signature.mismatch" => "a CAWG identity's signature does not verify",
        "cawg.x509.signature.validated" => "a CAWG identity's signature is valid",

        "verity.manifest.unreadable" => "the embedded manifest is damaged and cannot be parsed",
        "verity.manifest.remote" => {
            "the file's manifest is kept at a URL; verity validates offline, so it was not fetched"
        }
        "verity.container.unparsed" => {
            "the file holds no C2PA manifest, but c2pa could not parse its container; FFmpeg \
             may still read it"
        }
        "verity.container.unsupported" => {
            "C2PA cannot embed a manifest in this container, so none was looked for"
        }
        _ => "see the C2PA specification for this status code",
    }
}

/// Whether a failure code means the content no longer matches its hard binding (tampering
/// with the pixels or samples, or a re-encode), as opposed to a problem with the manifest itself.
pub fn is_hard_binding_failure(code: &str) -> bool {
    matches!(
        code,
        "assertion.dataHash.mismatch"
            | "assertion.bmffHash.mismatch"
            | "assertion.boxesHash.mismatch"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every status code c2pa 0.91.5 can report (its `validation_results` constants).
    const C2PA_CODES: &[&str] = &[
        "algorithm.deprecated",
        "algorithm.unsupported",
        "assertion.accessible",
        "assertion.action.ingredientMismatch",
        "assertion.action.malformed",
        "assertion.action.redacted",
        "assertion.action.redactionMismatch",
        "assertion.action.softBindingMissing",
        "assertion.bmffHash.additionalExclusionsPresent",
        "assertion.bmffHash.malformed",
        "assertion.bmffHash.match",
        "assertion.bmffHash.mismatch",
        "assertion.boxesHash.additionalExclusionsPresent",
        "assertion.boxesHash.malformed",
        "assertion.boxesHash.match",
        "assertion.boxesHash.mismatch",
        "assertion.boxesHash.unknownBox",
        "assertion.cbor.invalid",
        "assertion.collectionHash.incorrectFileCount",
        "assertion.collectionHash.invalidURI",
        "assertion.collectionHash.malformed",
        "assertion.collectionHash.match",
        "assertion.collectionHash.mismatch",
        "assertion.dataHash.additionalExclusionsPresent",
        "assertion.dataHash.malformed",
        "assertion.dataHash.match",
        "assertion.dataHash.mismatch",
        "assertion.dataHash.redacted",
        "assertion.hardBinding.redacted",
        "assertion.hashedURI.match",
        "assertion.hashedURI.mismatch",
        "assertion.inaccessible",
        "assertion.ingredient.malformed",
        "assertion.json.invalid",
        "assertion.metadata.disallowed",
        "assertion.missing",
        "assertion.multipleHardBindings",
        "assertion.notRedacted",
        "assertion.outsideManifest",
        "assertion.required.missing",
        "assertion.selfRedacted",
        "assertion.timestamp.malformed",
        "assertion.undeclared",
        "cawg.identity.assertion.duplicate",
        "cawg.identity.assertion.mismatch",
        "cawg.identity.cbor.invalid",
        "cawg.identity.pad.invalid",
        "cawg.x509.algorithm.unsupported",
        "cawg.x509.credential.invalid",
        "cawg.x509.credential.trusted",
        "cawg.x509.credential.untrusted",
        "cawg.x509.signature.mismatch",
        "cawg.x509.signature.validated",
        "claim.cbor.invalid",
        "claim.hardBindings.missing",
        "claim.malformed",
        "claim.missing",
        "claim.multiple",
        "claim.required.missing",
        "claimSignature.insideValidity",
        "claimSignature.mismatch",
        "claimSignature.missing",
        "claimSignature.outsideValidity",
        "claimSignature.validated",
        "general.error",
        "hashedURI.mismatch",
        "hashedURI.missing",
        "ingredient.claimSignature.mismatch",
        "ingredient.claimSignature.missing",
        "ingredient.claimSignature.validated",
        "ingredient.hashedURI.mismatch",
        "ingredient.manifest.mismatch",
        "ingredient.manifest.missing",
        "ingredient.manifest.validated",
        "ingredient.unknownProvenance",
        "manifest.compressed.invalid",
        "manifest.inaccessible",
        "manifest.multipleParents",
        "manifest.timestamp.invalid",
        "manifest.timestamp.wrongParents",
        "manifest.unknownProvenance",
        "manifest.unreferenced",
        "manifest.update.invalid",
        "manifest.update.wrongParents",
        "signingCredential.expired",
        "signingCredential.invalid",
        "signingCredential.ocsp.inaccessible",
        "signingCredential.ocsp.notRevoked",
        "signingCredential.ocsp.revoked",
        "signingCredential.ocsp.skipped",
        "signingCredential.ocsp.unknown",
        "signingCredential.trusted",
        "signingCredential.untrusted",
        "timeOfSigning.insideValidity",
        "timeStamp.malformed",
        "timeStamp.mismatch",
        "timeStamp.outsideValidity",
        "timeStamp.trusted",
        "timeStamp.untrusted",
        "timeStamp.validated",
    ];

    #[test]
    fn every_c2pa_code_is_explained_in_words() {
        let fallback = explain("no.such.code");
        for code in C2PA_CODES {
            assert_ne!(explain(code), fallback, "{code} has no explanation");
        }
    }

    #[test]
    fn every_code_has_an_explanation() {
        assert!(explain("assertion.bmffHash.mismatch").contains("changed after signing"));
        assert!(explain("no.such.code").contains("C2PA specification"));
        assert!(is_hard_binding_failure("assertion.bmffHash.mismatch"));
        assert!(!is_hard_binding_failure("claimSignature.mismatch"));
    }
}
