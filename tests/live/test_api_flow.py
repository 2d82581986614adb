"""The night an integrator's system has, over HTTP against `masspost serve`: import clinics, patients and
visits; preview a recall; send it with an Idempotency-Key; a worker delivers it into the file gateways; the
messages endpoint shows every recipient sent; the same request again sends nothing. On the suite's database
(SQLite, or PostgreSQL in CI's second run)."""

from __future__ import annotations

import json
from typing import Any

from tests.live.conftest import Live

PATIENTS = """external_id,clinic,first_name,last_name,birth_date,language,phone,email,accepts_sms
P-1001,TLN,Mari,Maasikas,1980-05-17,et,+37251000001,mari@example.com,yes
P-1002,TLN,Ivan,Ivanov,1975-01-02,ru,+37251000002,,yes
P-1003,TLN,Jaan,Tamm,1990-03-04,et,+37251000003,,no
P-1004,TRT,Tiit,Kask,1960-07-08,et,+37251000004,tiit@example.com,yes
P-1005,TRT,Olga,Petrova,1955-09-10,ru,,olga@example.com,yes
P-1006,TLN,Kati,Karu,2001-11-12,et,+37251000006,,yes
"""
VISITS = """patient,clinic,start,status
P-1001,TLN,2025-01-15 10:00,attended
P-1006,TLN,2026-10-01 09:30,attended
P-1004,TRT,2024-06-01 12:00,attended
"""
RECALL: dict[str, Any] = {
    "name": "Recall: not seen this year", "channel": "sms",
    "audience": {"not_visited": {"from": "2026-01-01", "to": "2026-12-31"}, "reference_date": "2026-12-01"},
    "content": {"et": {"sms": "Tere {first_name}! Aeg hambaarsti kontrolliks. {clinic_name}"},
                "ru": {"sms": "Здравствуйте, {first_name}! Пора на осмотр."}},
}


def test_a_night_of_imports_and_a_recall(live: Live) -> None:
    status, _, clinics = live.call("POST", "/imports/clinics", (live.data_dir / "clinics.csv").read_text(),
                                   content_type="text/csv")
    assert (status, clinics["imported"]) == (200, 2), clinics
    status, _, report = live.call("POST", "/imports/patients", PATIENTS, content_type="text/csv")
    assert (status, report["imported"], report["errors"]) == (200, 6, []), report
    status, _, report = live.call("POST", "/imports/visits", VISITS, content_type="text/csv")
    assert (status, report["imported"]) == (200, 3), report

    status, _, preview = live.call("POST", "/campaigns/preview", RECALL)
    assert status == 200, preview
    # Kati was seen in October; Jaan refuses SMS; Olga has no phone: Mari, Ivan and Tiit get it.
    assert preview["messages_total"] == 3
    assert preview["recipients"] == {"et": {"sms": 2, "email": 0}, "ru": {"sms": 1, "email": 0}}

    body = {"campaign": RECALL, "token": preview["token"]}
    status, _, sent = live.call("POST", "/campaigns", body, headers={"Idempotency-Key": "recall-2026-12"})
    assert (status, sent["messages"]) == (201, 3), sent
    live.run("worker", "--until-idle")

    status, _, page = live.call("GET", f"/campaigns/{sent['campaign']}/messages")
    assert status == 200 and page["next"] is None
    assert {(m["external_id"], m["status"]) for m in page["items"]} == {
        ("P-1001", "sent"), ("P-1002", "sent"), ("P-1004", "sent")}
    delivered = [json.loads(line) for line in (live.data_dir / "outbox-sms.jsonl").read_text().splitlines()]
    assert sorted(d["patient"] for d in delivered) == ["P-1001", "P-1002", "P-1004"]
    assert {d["to"] for d in delivered} == {"+37251000001", "+37251000002", "+37251000004"}

    status, _, again = live.call("POST", "/campaigns", body, headers={"Idempotency-Key": "recall-2026-12"})
    assert (status, again) == (201, sent)
    live.run("worker", "--until-idle")
    assert len((live.data_dir / "outbox-sms.jsonl").read_text().splitlines()) == 3
    status, _, detail = live.call("GET", f"/campaigns/{sent['campaign']}")
    assert (status, detail["status"], detail["progress"]["total"], detail["messages"]["sent"]) == (200, "done", 3, 3)
    status, _, listed = live.call("GET", "/campaigns")
    assert [c["id"] for c in listed["items"]] == [sent["campaign"]]
