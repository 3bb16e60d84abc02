#!/usr/bin/env python3
"""Interop with c2pa-python, an independent C2PA implementation, driven by cli/tests/interop.rs.

  read SIGNED ANCHOR_PEM            print what c2pa-python sees in SIGNED, trusting ANCHOR_PEM (JSON)
  make-ca DIR                       make a root CA and an ES256 signing certificate with `cryptography`
  sign KEY CHAIN SRC DST            sign SRC into DST with c2pa-python
"""
import datetime
import json
import sys
from pathlib import Path

import c2pa


def read(signed, anchor):
    settings = c2pa.Settings.from_dict({
        "trust": {"trust_anchors": Path(anchor).read_text()},
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    })
    reader = c2pa.Reader(signed, context=c2pa.Context(settings))
    store = json.loads(reader.json())
    active = store["manifests"][store["active_manifest"]]
    actions = []
    for a in active.get("assertions", []):
        if a["label"].startswith("c2pa.actions"):
            actions += [x.get("action") for x in a["data"].get("actions", [])]
    out = {
        "validation_state": store.get("validation_state"),
        "failures": [s.get("code") for s in
                     store.get("validation_results", {}).get("activeManifest", {}).get("failure", [])],
        "assertion_labels": sorted({a["label"] for a in active.get("assertions", [])}),
        "actions": actions,
        "signer": active.get("signature_info", {}).get("common_name"),
    }
    print(json.dumps(out))


def make_ca(out_dir):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Interop Test Root"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Interop")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Interop Python Signer"),
                                     x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Interop")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (out / "root.pem").write_bytes(ca.public_bytes(pem))
    (out / "chain.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (out / "key.pem").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    (out / "key.pem").chmod(0o600)


def sign(key, chain, src, dst):
    info = c2pa.C2paSignerInfo(b"es256", Path(chain).read_bytes(), Path(key).read_bytes(), None)
    signer = c2pa.Signer.from_info(info)
    manifest = {
        "claim_generator_info": [{"name": "c2pa-python interop test"}],
        "title": "python-signed",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
            "action": "c2pa.created",
            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        }]}}],
    }
    builder = c2pa.Builder(json.dumps(manifest))
    builder.sign_file(src, dst, signer)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"read": read, "make-ca": make_ca, "sign": sign}[cmd](*args)
