//! C2PA validation status codes, each with a one-line explanation in plain words.

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

    #[test]
    fn every_code_has_an_explanation() {
        assert!(explain("assertion.bmffHash.mismatch").contains("changed after signing"));
        assert!(explain("no.such.code").contains("C2PA specification"));
        assert!(is_hard_binding_failure("assertion.bmffHash.mismatch"));
        assert!(!is_hard_binding_failure("claimSignature.mismatch"));
    }
}
