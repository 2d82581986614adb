"""The demo campaign delivered through real protocol peers on loopback: an SMTP server (aiosmtpd) and an SMSC
(the smpp34 package's SMPP server), the same peers the tests use. Run by scripts/demo-delivery.sh.

It starts both peers, points masspost at them with MASSPOST_EMAIL_URL=smtp://… and MASSPOST_SMS_URL=smpp://…,
runs demo → preview → send → worker, and prints what the peers received and the campaign's status (the SMSC sends
a delivery receipt for every SMS, so SMS end `delivered`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.peers.smsc import SMSCPeer  # noqa: E402
from tests.peers.smtp_server import SMTPPeer  # noqa: E402


def masspost(env: dict[str, str], *args: str, quiet: bool = False) -> str:
    if not quiet:
        print(f"\n$ masspost {' '.join(args)}", flush=True)
    out = subprocess.run([sys.executable, "-m", "masspost", *args], env=env, check=True, capture_output=True,
                         text=True).stdout
    if not quiet:
        print(out.rstrip())
    return out


def main() -> None:
    smtp, smsc = SMTPPeer.start(), SMSCPeer.start()
    try:
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        env["MASSPOST_DATA_DIR"] = str(ROOT / "var" / "demo-delivery")
        env["MASSPOST_EMAIL_URL"] = f"smtp://{smtp.host}:{smtp.port}"
        env["MASSPOST_SMS_URL"] = f"smpp://demo:secret@{smsc.host}:{smsc.port}"
        print(f"SMTP peer on {smtp.host}:{smtp.port}, SMSC peer on {smsc.host}:{smsc.port}")
        masspost(env, "demo", "--patients", os.environ.get("DEMO_PATIENTS", "2000"), "--seed", "1", "--reset")
        masspost(env, "preview", "examples/recall.json")
        preview = json.loads(masspost(env, "preview", "examples/recall.json", "--json", quiet=True))
        sent = json.loads(masspost(env, "send", "examples/recall.json", "--token", preview["token"], "--yes",
                                   "--json"))
        masspost(env, "worker", "--until-idle")
        expected_sms = sum(v["sms"] for v in preview["recipients"].values())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = json.loads(masspost(env, "status", str(sent["campaign"]), "--json", quiet=True))
            if status["messages"]["delivered"] >= expected_sms:
                break
            time.sleep(1)
        masspost(env, "status", str(sent["campaign"]))
        print(f"\nThe SMTP server received {len(smtp.received)} e-mails (preview: {preview['emails_total']}); "
              f"the SMSC received {len(smsc.messages())} SMS in {len(smsc.submits)} parts "
              f"(preview: {expected_sms} SMS, {preview['sms_parts_total']} parts).")
    finally:
        smtp.stop()
        smsc.stop()


if __name__ == "__main__":
    main()
