#!/usr/bin/env python3
"""Interop with c2pa-python, an independent C2PA implementation, driven by cli/tests/interop.rs.

  read SIGNED ANCHOR_PEM            print what c2pa-python sees in SIGNED, trusting ANCHOR_PEM (JSON)
  make-ca DIR                       make a root CA and an ES256 signing certificate with `cryptography`
  sign KEY CHAIN SRC DST            sign SRC into DST with c2pa-python
  make-suite CA CLIP OUT URL        sign the conformance suite's files into OUT (see suite below)
  read-suite ANCHOR OUT             print c2pa-python's reading of every file in OUT (JSON)
  resolve BASE TOKEN CLIP ANCHOR    a client that speaks only the C2PA Soft Binding Resolution
                                    API: finds CLIP's manifest at the service BASE and validates it
                                    against CLIP (JSON)
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


def _pem_leaf(ca_key, ca_name, key, subject, now):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID
    return (x509.CertificateBuilder()
            .subject_name(subject)
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


def make_ca(out_dir):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

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
    pem = serialization.Encoding.PEM
    (out / "root.pem").write_bytes(ca.public_bytes(pem))

    def identity(prefix, key, subject):
        leaf = _pem_leaf(ca_key, ca_name, key, subject, now)
        (out / f"{prefix}chain.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
        (out / f"{prefix}key.pem").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                                 serialization.NoEncryption()))
        (out / f"{prefix}key.pem").chmod(0o600)

    identity("", ec.generate_private_key(ec.SECP256R1()),
             x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Interop Python Signer"),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Interop")]))

    # A PS256 (RSA-PSS) signer whose subject has no Organization (O=): valid C2PA, once refused
    # by c2pa-rs (CoseX5ChainMissing, reported as claimSignature.mismatch).
    from cryptography.hazmat.primitives.asymmetric import rsa
    identity("ps256-", rsa.generate_private_key(public_exponent=65537, key_size=2048),
             x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Interop PS256 Signer Without O")]))


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


IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# Every term of the IPTC digital source type vocabulary in use (and the retired ones still met).
TERMS = ["digitalCapture", "computationalCapture", "negativeFilm", "positiveFilm", "print", "humanEdits",
         "minorHumanEdits", "compositeCapture", "composite", "algorithmicallyEnhanced", "dataDrivenMedia",
         "digitalArt", "digitalCreation", "virtualRecording", "compositeSynthetic", "trainedAlgorithmicMedia",
         "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia", "screenCapture", "softwareImage"]
PARENT_GENERATOR = "interop-parent-generator"


def _signer(ca, alg="es256"):
    prefix = "" if alg == "es256" else alg + "-"
    info = c2pa.C2paSignerInfo(alg.encode(), (Path(ca) / f"{prefix}chain.pem").read_bytes(),
                               (Path(ca) / f"{prefix}key.pem").read_bytes(), None)
    return c2pa.Signer.from_info(info)


def _definition(title, actions, generator="c2pa-python interop suite"):
    return {
        "claim_generator_info": [{"name": generator}],
        "title": title,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [
            {"action": a, "digitalSourceType": IPTC + t} for a, t in actions]}}],
    }


def _sign(signer, definition, src, dst, ingredient=None, remote_url=None, no_embed=False):
    builder = c2pa.Builder(json.dumps(definition))
    if ingredient is not None:
        with open(ingredient, "rb") as f:
            builder.add_ingredient(json.dumps({"title": Path(ingredient).name, "relationship": "parentOf",
                                               "label": "parent"}),
                                   "video/mp4", f)
    if remote_url:
        builder.set_remote_url(remote_url)
    if no_embed:
        builder.set_no_embed()
    with open(src, "rb") as s, open(dst, "w+b") as d:
        return builder.sign(signer, "video/mp4", s, d)


def make_suite(ca, clip, out_dir, url):
    """The suite's files, each made here with c2pa-python (fragments excepted: it cannot sign
    them, so the Rust side signs those with c2pa-rs)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    es = _signer(ca)
    # A PS256 certificate without O=.
    _sign(_signer(ca, "ps256"), _definition("ps256", [("c2pa.created", "digitalCapture")]), clip,
          out / "ps256-no-org.mp4")
    # Each source type on c2pa.created, and on c2pa.edited of a captured clip.
    for t in TERMS:
        _sign(es, _definition(f"created-{t}", [("c2pa.created", t)]), clip, out / f"created-{t}.mp4")
        _sign(es, _definition(f"edited-{t}", [("c2pa.created", "digitalCapture"), ("c2pa.edited", t)]), clip,
              out / f"edited-{t}.mp4")
    # A remote manifest: the file holds only its URL; the store is written beside it as
    # remote.store (not .c2pa, which a reader would take as a sidecar on its own).
    store = _sign(es, _definition("remote", [("c2pa.created", "digitalCapture")]), clip, out / "remote.mp4",
                  remote_url=url, no_embed=True)
    (out / "remote.store").write_bytes(store)
    # A sidecar: nothing in the file, the store beside it as sidecar.c2pa.
    store = _sign(es, _definition("sidecar", [("c2pa.created", "trainedAlgorithmicMedia")]), clip,
                  out / "sidecar.mp4", no_embed=True)
    (out / "sidecar.c2pa").write_bytes(store)
    # An ingredient with its own manifest, then the same with one byte of that manifest's claim
    # changed after signing.
    parent = out.parent / "parent.mp4"
    _sign(es, _definition("parent", [("c2pa.created", "trainedAlgorithmicMedia")], PARENT_GENERATOR), clip,
          parent)
    child = out / "good-ingredient.mp4"
    opened = _definition("child", [("c2pa.edited", "humanEdits")])
    opened["assertions"][0]["data"]["actions"].insert(
        0, {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}})
    _sign(es, opened, parent, child, ingredient=parent)
    b = bytearray(child.read_bytes())
    needle = PARENT_GENERATOR.encode()
    at = b.find(needle)
    assert at >= 0 and b.find(needle, at + 1) < 0, "the parent's claim generator is written once"
    b[at] ^= 0x20  # 'i' -> 'I'
    (out / "broken-ingredient.mp4").write_bytes(b)


def _reading(reader):
    store = json.loads(reader.json())
    results = store.get("validation_results", {})
    active = store["manifests"][store["active_manifest"]]
    declared = []
    for a in active.get("assertions", []):
        if a["label"].startswith("c2pa.actions"):
            declared += [[x.get("action"), x.get("digitalSourceType")] for x in a["data"].get("actions", [])]
    ingredient_failures = []
    for d in results.get("ingredientDeltas", []):
        ingredient_failures += [s.get("code") for s in d.get("validationDeltas", {}).get("failure", [])]
    return {
        "validation_state": store.get("validation_state"),
        "failures": sorted({s.get("code") for s in results.get("activeManifest", {}).get("failure", [])}),
        "ingredient_failures": sorted(set(ingredient_failures)),
        "actions": declared,
        "signer": active.get("signature_info", {}).get("common_name"),
        "embedded": reader.is_embedded(),
    }


def read_suite(anchor, out_dir):
    """c2pa-python's reading of each file: the state, the failure codes, the declared actions;
    for a file that points to a remote manifest, the URL (not fetched) and the reading of the
    file against the store kept beside it; for fragments, the reading of each with its init."""
    settings = c2pa.Settings.from_dict({
        "trust": {"trust_anchors": Path(anchor).read_text()},
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    })
    ctx = c2pa.Context(settings)
    out = Path(out_dir)
    readings = {}
    for f in sorted(out.glob("*.mp4")):
        try:
            with open(f, "rb") as s:
                readings[f.name] = _reading(c2pa.Reader("video/mp4", s, context=ctx))
        except c2pa.C2paError as e:
            readings[f.name] = {"error": type(e).__name__, "message": str(e)}
    for name, store in [("remote.mp4", "remote.store"), ("sidecar.mp4", "sidecar.c2pa")]:
        with open(out / name, "rb") as s:
            readings[name + "+store"] = _reading(
                c2pa.Reader("video/mp4", s, (out / store).read_bytes(), context=ctx))
    frag_dir = out / "fragments"
    if frag_dir.is_dir():
        init = frag_dir / "init.mp4"
        states, failures = [], set()
        for seg in sorted(frag_dir.glob("*.m4s")):
            with open(init, "rb") as s, open(init, "rb") as s2, open(seg, "rb") as g:
                r = c2pa.Reader("video/mp4", s, context=ctx)
                r.with_fragment("video/mp4", s2, g)
                one = _reading(r)
                states.append(one["validation_state"])
                failures |= set(one["failures"])
        readings["fragments"] = {"validation_state": "Invalid" if "Invalid" in states else states[0],
                                 "failures": sorted(failures), "fragments_read": len(states)}
    print(json.dumps(readings))


def resolve(base, token, clip, anchor):
    """Discovery, byContent, the manifest, a byBinding round trip with the manifest's own soft
    binding, then c2pa-python's validation of the clip against the manifest it got back."""
    import base64
    import urllib.parse
    import urllib.request

    def call(url, data=None, ctype=None):
        req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
        req.add_header("Authorization", f"Bearer {token}")
        if ctype:
            req.add_header("Content-Type", ctype)
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.headers.get("Content-Type"), r.read()

    _, wk = call(f"{base}/.well-known/c2pa-soft-binding-resolution")
    endpoint = urllib.parse.urljoin(base + "/", json.loads(wk)["apiEndpoint"])
    _, algs = call(f"{endpoint}/services/supportedAlgorithms")
    algs = [a["alg"] for a in json.loads(algs)["watermarks"]]
    clip_bytes = Path(clip).read_bytes()
    _, found = call(f"{endpoint}/matches/byContent", clip_bytes, "video/mp4")
    matches = json.loads(found)["matches"]
    manifest_id = matches[0]["manifestId"]
    ctype, store = call(f"{endpoint}/manifests/{urllib.parse.quote(manifest_id, safe='')}")
    settings = c2pa.Settings.from_dict({
        "trust": {"trust_anchors": Path(anchor).read_text()},
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    })
    with open(clip, "rb") as s:
        reader = c2pa.Reader("video/mp4", s, store, context=c2pa.Context(settings))
        reading = _reading(reader)
        report = json.loads(reader.json())
    active = report["manifests"][report["active_manifest"]]
    binding = next(a["data"] for a in active.get("assertions", [])
                   if a["label"].startswith("c2pa.soft-binding"))
    value = binding["blocks"][0]["value"]
    query = urllib.parse.urlencode({"alg": binding["alg"], "value": base64.b64encode(value.encode()).decode()})
    _, again = call(f"{endpoint}/matches/byBinding?{query}")
    print(json.dumps({
        "algorithms": algs,
        "manifest_id": manifest_id,
        "content_type": ctype,
        "soft_binding": {"alg": binding["alg"], "value": value},
        "round_trip": [m["manifestId"] for m in json.loads(again)["matches"]],
        "reading": reading,
        "success": sorted({x.get("code") for x in report.get("validation_results", {})
                           .get("activeManifest", {}).get("success", [])}),
    }))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"read": read, "make-ca": make_ca, "sign": sign, "make-suite": make_suite,
     "read-suite": read_suite, "resolve": resolve}[cmd](*args)
