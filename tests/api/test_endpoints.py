import json
from django.test import Client
from tests.api.conftest import recall


def test_probe(alice, make_patient):
    make_patient()
    r = Client().get("/api/openapi.json")
    print(r.status_code, r["Content-Type"])
    s = r.json()
    for p, m in s["paths"].items():
        for k, o in m.items():
            print(k, p, list(o["responses"]))
    print(json.dumps(s["paths"]["/api/v1/imports/{kind}"]["post"]["responses"]["422"])[:300])
    for req in [("post", "/campaigns/preview", recall(foo=1)), ("post", "/campaigns/preview", {"name": "x", "channel": "sms", "content": {"et": {"sms": "x", "bad": 1}}}),
                ("post", "/campaigns", {"campaign": recall(), "token": "x"}), ("get", "/campaigns/preview", None), ("post", "/sms/measure", {"text": "Tere õhtust"})]:
        resp = getattr(alice, req[0])(req[1], req[2]) if req[2] is not None else alice.get(req[1])
        print(req[1], resp.status_code, resp["Content-Type"], resp.content[:600].decode())
    resp = alice.client.get("/api/v1/nope", headers={"Authorization": "Bearer " + alice.token})
    print(resp.status_code, resp["Content-Type"])
    resp = alice.post("/campaigns/preview", "{not json", content_type="application/json")
    print(resp.status_code, resp["Content-Type"], resp.content[:300])
    resp = alice.get("/campaigns/abc")
    print(resp.status_code, resp["Content-Type"], resp.content[:300])
    resp = alice.get("/campaigns/0")
    print(resp.status_code, resp["Content-Type"], resp.content[:300])
    assert 0
