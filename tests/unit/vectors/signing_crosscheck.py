#!/usr/bin/env python3
"""Independent cross-check of tests/unit/vectors/signing_v1.txt (the checked-in signing test
vectors), using none of signing/: Python's json module for the canonical bytes, hashlib for
SHA-256 and the key id, and OpenSSL (`openssl pkeyutl -sign -rawin`, Ed25519 from a PKCS#8
key built around the fixed seed) for the public key and the signature bytes.

Run from anywhere: python3 tests/unit/vectors/signing_crosscheck.py ; it exits non-zero and
prints the difference when a vector disagrees."""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CONTEXT = b"edgeplane-manifest-v1\n"
# RFC 8410 PKCS#8 wrapping of a raw Ed25519 seed.
PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")

# The same inputs the C test uses, restated here on purpose.
SEED = bytes(range(32))
MANIFESTS = {
    "v1": dict(module_bytes=b"\0asm\1\0\0\0", tenant="acme", module="hello", version=3,
               created_at="2026-12-03T10:00:00Z"),
    "v2": dict(module_bytes=b"edgeplane",
               tenant="ac\"me\\/\u00e9\u20ac\U0001F600\x01\x1f\x7f\n\t\r\b\f",
               module="h\u00e9llo", version=9007199254740991,
               created_at="2026-12-03T10:00:00.123456Z"),
}


def openssl(args, data=None):
    return subprocess.run(["openssl"] + args, input=data, check=True, capture_output=True).stdout


def main():
    vec = {}
    with open(os.path.join(HERE, "signing_v1.txt"), "rb") as f:
        for line in f.read().decode("utf-8").split("\n"):
            if line and not line.startswith("#"):
                k, v = line.split("=", 1)
                vec[k] = v
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "key.der")
        with open(key, "wb") as f:
            f.write(PKCS8_PREFIX + SEED)
        pub_der = openssl(["pkey", "-inform", "DER", "-in", key, "-pubout", "-outform", "DER"])
        pub = pub_der[-32:]
        want = {"seed_hex": SEED.hex(), "public_key": base64.b64encode(pub).decode(),
                "key_id": hashlib.sha256(pub).hexdigest()[:16]}
        for name, m in MANIFESTS.items():
            body = m["module_bytes"]
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            doc = {"tenant": m["tenant"], "module": m["module"], "version": m["version"],
                   "digest": digest, "size": len(body), "created_at": m["created_at"],
                   "key_id": want["key_id"]}
            # sort_keys + compact separators + ensure_ascii=False is exactly the canonical
            # form: minimal escaping, short escapes, \u00xx for the other controls.
            canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"),
                                   ensure_ascii=False).encode("utf-8")
            msg = os.path.join(tmp, name + ".msg")
            with open(msg, "wb") as f:
                f.write(CONTEXT + canonical)
            sig = openssl(["pkeyutl", "-sign", "-rawin", "-keyform", "DER", "-inkey", key,
                           "-in", msg])
            want[name + ".module_hex"] = body.hex()
            want[name + ".digest"] = digest
            want[name + ".canonical"] = canonical.decode("utf-8")
            want[name + ".signature"] = base64.b64encode(sig).decode()
    bad = 0
    for k, v in want.items():
        if vec.get(k) != v:
            print(f"MISMATCH {k}:\n  file:    {vec.get(k)!r}\n  openssl: {v!r}")
            bad += 1
    for k in vec:
        if k not in want:
            print(f"unchecked vector {k}")
            bad += 1
    print("signing vectors: %d checked, %d mismatches" % (len(want), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
