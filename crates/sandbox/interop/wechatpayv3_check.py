"""Points the PyPI package wechatpayv3 (WeChat Pay's community Python SDK) at a running
WeChat Pay sandbox: a Native order is created, queried, paid by the payer simulator and
refunded; the payment callback the sandbox sends is verified and decrypted by the SDK; the
day's bill is fetched gzipped and checked against its SHA1.

Usage: python wechatpayv3_check.py <data_dir>/sandbox/wechat.json
Exits non-zero on the first disagreement.
"""

import gzip
import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests
from wechatpayv3 import WeChatPay, WeChatPayType


def main(credentials_path):
    with open(credentials_path) as f:
        creds = json.load(f)
    callbacks = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            callbacks.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    notify_url = "http://127.0.0.1:%d/notify" % server.server_port

    pay = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=creds["mchid"],
        private_key=creds["merchant_private_key_pem"],
        cert_serial_no=creds["merchant_serial_no"],
        appid=creds["appid"],
        apiv3_key=creds["apiv3_key"],
        notify_url=notify_url,
        public_key=creds["platform_public_key_pem"],
        public_key_id=creds["platform_public_key_id"],
    )
    # The SDK has WeChat Pay's address built in; the sandbox stands in for it.
    pay._core._gate_way = creds["base_url"]

    out_trade_no = "PY%d" % int(time.time() * 1000)
    code, message = pay.pay(
        description="interop check", out_trade_no=out_trade_no, amount={"total": 101}
    )
    expect(code == 200 and "code_url" in json.loads(message), "create", code, message)
    code_url = json.loads(message)["code_url"]

    code, message = pay.query(out_trade_no=out_trade_no)
    expect(code == 200 and json.loads(message)["trade_state"] == "NOTPAY", "query", code, message)

    paid = requests.post(
        creds["base_url"] + "/sandbox/payer", json={"code_url": code_url, "action": "pay"}
    ).json()
    expect(paid["trade_state"] == "SUCCESS", "payer", paid)

    deadline = time.time() + 10
    while not callbacks and time.time() < deadline:
        time.sleep(0.05)
    expect(callbacks, "no callback arrived")
    headers, body = callbacks[0]
    opened = pay.callback(headers, body)
    expect(opened is not None, "the SDK refused the callback's signature")
    resource = opened["resource"]
    expect(
        opened["event_type"] == "TRANSACTION.SUCCESS"
        and resource["out_trade_no"] == out_trade_no
        and resource["amount"]["total"] == 101,
        "callback",
        opened,
    )
    forged = {name.lower(): value for name, value in headers.items()}
    signature = forged["wechatpay-signature"]
    forged["wechatpay-signature"] = ("B" if signature[0] == "A" else "A") + signature[1:]
    expect(pay.callback(forged, body) is None, "the SDK took a forged callback")

    code, message = pay.refund(
        out_refund_no="R" + out_trade_no,
        amount={"refund": 100, "total": 101, "currency": "CNY"},
        out_trade_no=out_trade_no,
    )
    expect(code == 200 and json.loads(message)["status"] == "PROCESSING", "refund", code, message)
    code, message = pay.query_refund(out_refund_no="R" + out_trade_no)
    expect(code == 200, "refund query", code, message)

    code, message = pay.trade_bill(bill_date=resource["success_time"][:10])
    expect(code == 200, "trade bill", code, message)
    location = json.loads(message)
    code, packed = pay.download_bill(location["download_url"])
    expect(code == 200, "bill download", code)
    bill = gzip.decompress(packed)
    expect(hashlib.sha1(bill).hexdigest() == location["hash_value"], "bill hash")
    expect(out_trade_no in bill.decode("utf-8"), "the bill lists the trade")
    print("wechatpayv3 interop: create, query, callback, refund, refund query, bill all agree")


def expect(ok, *what):
    if not ok:
        print("wechatpayv3 interop FAILED:", *what, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
