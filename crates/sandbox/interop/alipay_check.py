"""Points the PyPI package python-alipay-sdk (a community Alipay SDK) at a running Alipay
sandbox, in public-key mode (AliPay) and certificate mode (DCAliPay): a QR trade is
precreated, queried, paid by the payer simulator and refunded twice under one out_request_no
(money moves once); every request is verified by the sandbox and every answer by the SDK; the
payment notification the sandbox sends is verified by the SDK's verify(); a request signed with
another key is refused with Alipay's error.

Usage: python alipay_check.py <data_dir>/sandbox/alipay.json
Exits non-zero on the first disagreement.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl

import requests
from alipay import AliPay, DCAliPay
from alipay.exceptions import AliPayException
from Cryptodome.PublicKey import RSA


def expect(condition, *what):
    if not condition:
        print("FAILED:", *what, file=sys.stderr)
        sys.exit(1)


def start_receiver():
    """A notify_url that keeps what it is sent and answers Alipay's `success`."""
    notices = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8")
            notices.append(dict(parse_qsl(body, keep_blank_values=True)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"success")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d/notify" % server.server_port, notices


def wait_for(notices, out_trade_no, trade_status):
    deadline = time.time() + 10
    while time.time() < deadline:
        for notice in notices:
            if (
                notice.get("out_trade_no") == out_trade_no
                and notice.get("trade_status") == trade_status
                and "out_biz_no" not in notice
            ):
                return notice
        time.sleep(0.05)
    expect(False, "no %s notification for %s" % (trade_status, out_trade_no))


def wait_for_refund(notices, out_trade_no):
    deadline = time.time() + 10
    while time.time() < deadline:
        for notice in notices:
            if notice.get("out_trade_no") == out_trade_no and notice.get("out_biz_no") == "R1":
                return notice
        time.sleep(0.05)
    expect(False, "no refund notification for %s" % out_trade_no)


def run_flow(sdk, label, creds, notices):
    """Precreate, query, pay, notification, refund twice, refund query: one trade."""
    base = creds["gateway_url"].rsplit("/", 1)[0]
    out_trade_no = "PY_%s_%d" % (label, int(time.time() * 1000))
    created = sdk.api_alipay_trade_precreate(
        subject="interop 检查", out_trade_no=out_trade_no, total_amount="1.01"
    )
    expect(created["code"] == "10000" and created["qr_code"], label, "precreate", created)

    queried = sdk.api_alipay_trade_query(out_trade_no=out_trade_no)
    expect(queried["trade_status"] == "WAIT_BUYER_PAY", label, "query", queried)

    paid = requests.post(
        base + "/sandbox/payer", json={"code_url": created["qr_code"], "action": "pay"}
    ).json()
    expect(paid["trade_status"] == "TRADE_SUCCESS", label, "payer", paid)

    notice = dict(wait_for(notices, out_trade_no, "TRADE_SUCCESS"))
    signature = notice.pop("sign")
    expect(sdk.verify(notice, signature), label, "the SDK refused the notification", notice)
    expect(notice["total_amount"] == "1.01" and notice["app_id"] == creds["app_id"], label, notice)

    queried = sdk.api_alipay_trade_query(out_trade_no=out_trade_no)
    expect(
        queried["trade_status"] == "TRADE_SUCCESS" and queried["trade_no"] == paid["trade_no"],
        label, "query after pay", queried,
    )

    first = sdk.api_alipay_trade_refund(
        refund_amount="0.40", out_trade_no=out_trade_no, out_request_no="R1"
    )
    expect(first["fund_change"] == "Y" and first["refund_fee"] == "0.40", label, "refund", first)
    again = sdk.api_alipay_trade_refund(
        refund_amount="0.40", out_trade_no=out_trade_no, out_request_no="R1"
    )
    expect(again["fund_change"] == "N" and again["refund_fee"] == "0.40", label, "replay", again)

    found = sdk.api_alipay_trade_fastpay_refund_query("R1", out_trade_no=out_trade_no)
    expect(
        found["refund_status"] == "REFUND_SUCCESS" and found["refund_amount"] == "0.40",
        label, "refund query", found,
    )
    refund_notice = dict(wait_for_refund(notices, out_trade_no))
    signature = refund_notice.pop("sign")
    expect(sdk.verify(refund_notice, signature), label, "refund notification", refund_notice)
    expect(refund_notice["refund_fee"] == "0.40", label, "refund notification", refund_notice)
    print("%s mode: precreate, query, pay, notification, refund and its replay, refund query, refund notification: OK" % label)
    return out_trade_no


def main(credentials_path):
    with open(credentials_path) as f:
        creds = json.load(f)
    notify_url, notices = start_receiver()

    public_key_mode = AliPay(
        appid=creds["app_id"],
        app_notify_url=notify_url,
        app_private_key_string=creds["app_private_key_pem"],
        alipay_public_key_string=creds["alipay_public_key_pem"],
    )
    # The SDK has Alipay's address built in; the sandbox stands in for it.
    public_key_mode._gateway = creds["gateway_url"]
    run_flow(public_key_mode, "public_key", creds, notices)

    certificate_mode = DCAliPay(
        appid=creds["app_id"],
        app_notify_url=notify_url,
        app_private_key_string=creds["app_private_key_pem"],
        app_public_key_cert_string=creds["app_cert_pem"],
        alipay_public_key_cert_string=creds["alipay_cert_pem"],
        alipay_root_cert_string=creds["alipay_root_cert_pem"],
    )
    certificate_mode._gateway = creds["gateway_url"]
    # The SDK computes the SNs itself: they must be the ones the sandbox wrote.
    expect(certificate_mode.app_cert_sn == creds["app_cert_sn"], "app_cert_sn differs")
    expect(
        certificate_mode.alipay_root_cert_sn == creds["alipay_root_cert_sn"],
        "alipay_root_cert_sn differs",
    )
    out_trade_no = run_flow(certificate_mode, "certificate", creds, notices)
    body = certificate_mode.build_body(
        "alipay.trade.query", {"out_trade_no": out_trade_no}
    )
    raw = requests.get(creds["gateway_url"] + "?" + certificate_mode.sign_data(body)).json()
    expect(raw.get("alipay_cert_sn") == creds["alipay_cert_sn"], "alipay_cert_sn", raw)

    forger = AliPay(
        appid=creds["app_id"],
        app_private_key_string=RSA.generate(2048).export_key().decode(),
        alipay_public_key_string=creds["alipay_public_key_pem"],
    )
    forger._gateway = creds["gateway_url"]
    try:
        forger.api_alipay_trade_query(out_trade_no=out_trade_no)
        expect(False, "a request signed with another key was answered")
    except AliPayException as refused:
        # The exception keeps the raw answer after "message:" (it has no accessor).
        raw = str(refused).split("message:", 1)[1]
        answer = json.loads(raw)["alipay_trade_query_response"]
        expect(
            answer["code"] == "40002" and answer["sub_code"] == "isv.invalid-signature",
            "refusal", answer,
        )
    print("a request signed with another key: refused with isv.invalid-signature: OK")
    print("python-alipay-sdk against the Alipay sandbox: OK")


if __name__ == "__main__":
    main(sys.argv[1])
