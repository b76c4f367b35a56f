#!/usr/bin/env python3
"""Paygate in five minutes: a signed create, pay, query and refund with the demo merchant.

Uses only Python's standard library, so it doubles as a reference for signing in any language
(DESIGN §12): drop `sign` and empty values, sort keys by byte order, join `k=v` with `&`, append
`&key=SECRET`, MD5, upper-case hex.

The wallet payment uses a one-time pay code, the payer's consent, obtained the way a payer's
wallet would hand it over: `paygate wallet paycode demo_payer --json`, run against the same data
directory (SQLite allows this second process beside the running server).

Usage: python3 scripts/quickstart.py [data-dir]   (default ./data, as written by `paygate serve`)
Environment: PAYGATE_BIN, the paygate binary (default target/debug/paygate).
"""

import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def string_to_sign(fields):
    parts = []
    for key in sorted(fields, key=lambda k: k.encode()):
        value = fields[key]
        if key == "sign" or value is None or value == "":
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        parts.append(f"{key}={value}")
    return "&".join(parts)


def md5_sign(fields, secret):
    text = string_to_sign(fields) + "&key=" + secret
    return hashlib.md5(text.encode()).hexdigest().upper()


def call(base_url, merchant, path, fields):
    body = dict(fields)
    body.update(
        merchant_id=merchant["merchant_id"],
        timestamp=int(time.time()),
        nonce=secrets.token_hex(8),
        sign_type="MD5",
    )
    body["sign"] = md5_sign(body, merchant["secret"])
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        answer = json.load(error)
    if answer.get("code") == "SUCCESS" and answer.get("sign") != md5_sign(answer, merchant["secret"]):
        raise SystemExit(f"{path}: response signature does not verify")
    return answer


def expect(answer, **wanted):
    for key, value in wanted.items():
        if answer.get(key) != value:
            raise SystemExit(f"expected {key}={value!r}, got {json.dumps(answer, ensure_ascii=False)}")
    return answer


def pay_code(data_dir, account):
    """A fresh pay code for `account`, as the payer's wallet app would show it."""
    binary = os.environ.get("PAYGATE_BIN", "target/debug/paygate")
    env = dict(os.environ, PAYGATE_DATA_DIR=data_dir, PAYGATE_LOG="warn")
    out = subprocess.run([binary, "wallet", "paycode", account, "--json"],
                         env=env, check=True, capture_output=True, text=True).stdout
    issued = json.loads(out)
    if issued.get("expires_in") != 60 or len(issued.get("auth_code", "")) != 18:
        raise SystemExit(f"unexpected pay code answer: {out!r}")
    return issued["auth_code"]


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else "data"
    with open(f"{data_dir}/demo-merchant.json") as f:
        merchant = json.load(f)
    base = merchant["base_url"]
    out_trade_no = "QS" + secrets.token_hex(6)

    order = call(base, merchant, "/api/payment/create", {
        "out_trade_no": out_trade_no, "total_amount": "0.01", "subject": "Quickstart tea",
        "pay_type": "wallet", "notify_url": "https://shop.example/notify",
    })
    expect(order, code="SUCCESS", trade_status="WAIT_PAY")
    print(f"created  {order['trade_no']}  pay_url={order['pay_url']}")

    # The same out_trade_no again is idempotent: the same order comes back.
    again = call(base, merchant, "/api/payment/create", {
        "out_trade_no": out_trade_no, "total_amount": "0.01", "subject": "Quickstart tea",
        "pay_type": "wallet", "notify_url": "https://shop.example/notify",
    })
    expect(again, code="SUCCESS", trade_no=order["trade_no"], pay_url=order["pay_url"])
    print(f"again    {again['trade_no']}  (idempotent on out_trade_no)")

    # The payer's one-time pay code (their consent) charges their wallet at once.
    auth_code = pay_code(data_dir, merchant["payer_wallet"])
    paid = call(base, merchant, "/api/payment/create", {
        "out_trade_no": out_trade_no + "P", "total_amount": "12.50", "subject": "Quickstart tea",
        "pay_type": "wallet", "notify_url": "https://shop.example/notify",
        "auth_code": auth_code,
    })
    expect(paid, code="SUCCESS", trade_status="SUCCESS")
    print(f"paid     {paid['trade_no']}  {paid['total_amount']} {paid['currency']} "
          f"with pay code {auth_code[:2]}...{auth_code[-4:]} of wallet {merchant['payer_wallet']}")

    # A pay code is single use: presenting it for another order is refused (1011).
    reused = call(base, merchant, "/api/payment/create", {
        "out_trade_no": out_trade_no + "X", "total_amount": "1.00", "subject": "Quickstart tea",
        "pay_type": "wallet", "notify_url": "https://shop.example/notify",
        "auth_code": auth_code,
    })
    expect(reused, code="FAIL", error_code="1011")
    print(f"reused   pay code refused: {reused['msg']}")

    queried = call(base, merchant, "/api/payment/query", {"out_trade_no": out_trade_no + "P"})
    expect(queried, code="SUCCESS", trade_status="SUCCESS")
    print(f"queried  {queried['trade_no']}  {queried['trade_status']} at {queried['pay_time']}")

    refund = call(base, merchant, "/api/payment/refund", {
        "trade_no": paid["trade_no"], "out_refund_no": "RF" + secrets.token_hex(6),
        "refund_amount": "2.50", "refund_reason": "quickstart",
    })
    expect(refund, code="SUCCESS", refund_status="SUCCESS")
    print(f"refunded {refund['refund_no']}  {refund['refund_amount']}")

    after = call(base, merchant, "/api/payment/query", {"trade_no": paid["trade_no"]})
    expect(after, trade_status="PARTIAL_REFUND", refunded_amount="2.50")
    print(f"order is {after['trade_status']}, refunded {after['refunded_amount']} of {after['total_amount']}")

    closed = call(base, merchant, "/api/payment/close", {"out_trade_no": out_trade_no})
    expect(closed, code="SUCCESS", trade_status="CLOSED")
    print(f"closed   {closed['trade_no']}")

    for channel, url_key, pay_type in SANDBOX_QR:
        pay_by_qr(data_dir, base, merchant, f"{out_trade_no}-{channel}", channel, url_key, pay_type)
    print("quickstart OK")


# Each channel's sandbox: its credentials file, the key of its base URL there, and a QR pay type.
SANDBOX_QR = [
    ("wechat", "base_url", "wechat_native"),
    ("alipay", "gateway_url", "alipay_native"),
    ("unionpay", "front_url", "unionpay_native"),
]


def sandbox_base(sandbox, key):
    """The sandbox's base URL (where /sandbox/payer is) from the URL its credentials name."""
    parts = urllib.parse.urlsplit(sandbox[key])
    return f"{parts.scheme}://{parts.netloc}"


def pay_by_qr(data_dir, base, merchant, out_trade_no, channel, url_key, pay_type):
    """A QR order of `channel`, paid in the sandbox that `serve` runs: the payer scans and pays,
    the channel calls the gateway back, and the order is paid."""
    try:
        with open(f"{data_dir}/sandbox/{channel}.json") as f:
            sandbox = json.load(f)
    except FileNotFoundError:
        print(f"{channel:8} skipped: no sandbox (a real account is configured)")
        return
    order = call(base, merchant, "/api/payment/create", {
        "out_trade_no": out_trade_no, "total_amount": "8.80", "subject": "Quickstart coffee",
        "pay_type": pay_type, "notify_url": "https://shop.example/notify",
    })
    expect(order, code="SUCCESS", trade_status="WAIT_PAY")
    print(f"{channel:8} {order['trade_no']}  code_url={order['code_url']}")
    request = urllib.request.Request(
        sandbox_base(sandbox, url_key) + "/sandbox/payer",
        data=json.dumps({"code_url": order["code_url"], "action": "pay"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        json.load(response)
    for _ in range(50):
        paid = call(base, merchant, "/api/payment/query", {"trade_no": order["trade_no"]})
        if paid.get("trade_status") == "SUCCESS":
            break
        time.sleep(0.2)
    expect(paid, code="SUCCESS", trade_status="SUCCESS")
    print(f"{channel:8} paid in the sandbox, called back: {paid['trade_status']} "
          f"channel_trade_no={paid['channel_trade_no']}")


if __name__ == "__main__":
    main()
