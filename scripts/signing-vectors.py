#!/usr/bin/env python3
"""Writes docs/signing-vectors.json: Paygate's signing test vectors, computed without Paygate.

The string to sign is built here by a few lines of Python following DESIGN §12 / the README
(drop `sign` and empty or null values, sort keys by their UTF-8 bytes, `k=v` joined with `&`,
integers as decimal text, booleans as `true`/`false`), then signed with Python's hashlib (MD5)
and hmac (HMAC-SHA256) and with the openssl command line (RSA2: SHA256withRSA, PKCS#1 v1.5,
deterministic, so the expected signature is fixed). The Rust test
crates/domain/tests/signing_vectors.rs checks paygate_domain::sign against the file.

Run from the repository root: python3 scripts/signing-vectors.py
The RSA test key pair is kept from an existing file (a fresh one is made with openssl otherwise);
it is a throwaway key for tests only.
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import tempfile

PATH = "docs/signing-vectors.json"
SECRET = "k3y-Only-For-Test-Vectors-0123456"
BASE = {"merchant_id": "M20261129ABCDEF", "nonce": "Vector0000000001", "timestamp": 1795000000}

# (pitfall, fields a merchant sends, not counting sign_type and sign)
CASES = [
    ("booleans are signed as the words true and false (not True, 1 or on)",
     {"out_trade_no": "VEC-BOOL", "total_amount": "10.00", "subject": "tea", "pay_type": "wallet",
      "disable_credit": True, "notify_url": "https://shop.example/notify"}),
    ("empty strings and nulls are left out of the string to sign (the key too)",
     {"out_trade_no": "VEC-EMPTY", "total_amount": "10.00", "subject": "tea", "pay_type": "wallet",
      "body": "", "attach": None, "notify_url": "https://shop.example/notify"}),
    ("text is hashed as its UTF-8 bytes, never a platform default charset",
     {"out_trade_no": "VEC-UTF8", "total_amount": "88.80", "subject": "绿茶 green tea ☕",
      "pay_type": "wallet", "notify_url": "https://shop.example/notify"}),
    ("amounts are decimal strings as sent (\"10.00\", not 10 or 10.0)",
     {"out_trade_no": "VEC-AMOUNT", "total_amount": "10.00", "subject": "tea", "pay_type": "wallet",
      "notify_url": "https://shop.example/notify"}),
    ("timestamps are Unix seconds (not milliseconds); a digit string signs like the integer",
     {"out_trade_no": "VEC-SECONDS", "total_amount": "1", "subject": "tea", "pay_type": "wallet",
      "timestamp": "1795000000", "notify_url": "https://shop.example/notify"}),
    ("keys are sorted by their bytes: upper case before _, _ before lower case",
     {"out_trade_no": "VEC-ORDER", "total_amount": "0.01", "subject": "tea", "pay_type": "wallet",
      "Zeta": "z", "out_trade": "prefix", "notify_url": "https://shop.example/notify"}),
]

SIGN_TYPES = ["MD5", "HMAC-SHA256", "RSA2"]


def text_of(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    raise ValueError(f"not a flat value: {value!r}")


def string_to_sign(fields):
    kept = [(k, text_of(v)) for k, v in fields.items()
            if k != "sign" and v is not None and v != ""]
    kept.sort(key=lambda kv: kv[0].encode("utf-8"))
    return "&".join(f"{k}={v}" for k, v in kept)


def rsa_sign(private_der, s):
    with tempfile.NamedTemporaryFile(suffix=".der", delete=False) as key:
        key.write(private_der)
    try:
        out = subprocess.run(
            ["openssl", "dgst", "-sha256", "-keyform", "DER", "-sign", key.name],
            input=s.encode("utf-8"), capture_output=True, check=True).stdout
    finally:
        os.unlink(key.name)
    return base64.b64encode(out).decode("ascii")


def sign(sign_type, s, private_der):
    data = s.encode("utf-8")
    if sign_type == "MD5":
        return hashlib.md5(data + b"&key=" + SECRET.encode("utf-8")).hexdigest().upper()
    if sign_type == "HMAC-SHA256":
        return hmac.new(SECRET.encode("utf-8"), data, hashlib.sha256).hexdigest().upper()
    return rsa_sign(private_der, s)


def key_pair():
    if os.path.exists(PATH):
        with open(PATH, encoding="utf-8") as f:
            old = json.load(f)
        return old["rsa_private_key_pkcs8"], old["rsa_public_key_spki"]
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                          "rsa_keygen_bits:2048"], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkcs8", "-topk8", "-nocrypt", "-outform", "DER"],
                         input=pem, capture_output=True, check=True).stdout
    pub = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=pem,
                         capture_output=True, check=True).stdout
    return base64.b64encode(der).decode("ascii"), base64.b64encode(pub).decode("ascii")


def main():
    private_b64, public_b64 = key_pair()
    private_der = base64.b64decode(private_b64)
    vectors = []
    for pitfall, fields in CASES:
        fields = {**BASE, **fields}
        signatures = {}
        for sign_type in SIGN_TYPES:
            signed_fields = {**fields, "sign_type": sign_type}
            s = string_to_sign(signed_fields)
            signatures[sign_type] = {"string_to_sign": s, "sign": sign(sign_type, s, private_der)}
        vectors.append({"pitfall": pitfall, "fields": fields, "signatures": signatures})
    document = {
        "about": (
            "Signing test vectors for the merchant API (README, Signing pitfalls). Each vector "
            "gives the fields a merchant sends (sign_type is added per algorithm and is itself "
            "signed), the exact string to sign, and the expected sign. Computed independently "
            "of Paygate by scripts/signing-vectors.py: Python's hashlib and hmac for MD5 and "
            "HMAC-SHA256, the openssl command line for RSA2 (SHA256withRSA, PKCS#1 v1.5, "
            "deterministic). Checked by crates/domain/tests/signing_vectors.rs. The key pair "
            "below is a throwaway for tests; never use it for anything else."),
        "secret": SECRET,
        "rsa_private_key_pkcs8": private_b64,
        "rsa_public_key_spki": public_b64,
        "vectors": vectors,
    }
    with open(PATH, "w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=False, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
