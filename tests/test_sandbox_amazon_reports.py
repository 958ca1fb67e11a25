"""The sandbox's SP-API Reports 2021-06-30: status flow, validation errors, the document URL (expiry, gzip, Range,
ETag), the order report's columns and range/lookback limits, scheduled reports in getReports, and the published
rate limits under ``real``."""

from __future__ import annotations

import gzip
import hashlib
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from ingestion.sources.amazon.reports import tsv_rows
from sandbox import amazon_reports
from sandbox.amazon_reports import ORDER_COLUMNS, ORDERS_REPORT, ScheduledReport
from sandbox.protocol import iso_z
from sandbox.server import SandboxApp, SandboxServer
from tests.conftest import TEST_WORLD
from tests.helpers import amazon_headers

BASE = "/reports/2021-06-30"
US = "ATVPDKIKX0DER"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="off"), port=0) as s:
        yield s


@pytest.fixture(scope="module")
def headers(server: SandboxServer) -> dict[str, str]:
    return amazon_headers(server.url)


def create(server: SandboxServer, headers: dict[str, str], **body: Any) -> requests.Response:
    return requests.post(f"{server.url}{BASE}/reports", json=body, headers=headers, timeout=30)


def wait_done(server: SandboxServer, headers: dict[str, str], report_id: str) -> dict[str, Any]:
    seen = []
    for _ in range(200):
        report = requests.get(f"{server.url}{BASE}/reports/{report_id}", headers=headers, timeout=30).json()
        seen.append(report["processingStatus"])
        if report["processingStatus"] in ("DONE", "FATAL", "CANCELLED"):
            report["seen"] = seen
            return report
        time.sleep(0.02)
    raise AssertionError(seen)


def window(server: SandboxServer, days_back: int, days: int = 30) -> dict[str, str]:
    now = server.app.world.config.now
    return {
        "dataStartTime": iso_z(now - timedelta(days=days_back)),
        "dataEndTime": iso_z(now - timedelta(days=days_back - days)),
    }


def test_order_report_flow_and_rows_match_the_world(server: SandboxServer, headers: dict[str, str]) -> None:
    w = window(server, 60)
    r = create(server, headers, reportType=ORDERS_REPORT, marketplaceIds=[US], **w)
    assert r.status_code == 202 and set(r.json()) == {"reportId"}
    report = wait_done(server, headers, r.json()["reportId"])
    assert report["processingStatus"] == "DONE" and report["seen"][-1] == "DONE"
    assert report["dataStartTime"] == w["dataStartTime"] and report["marketplaceIds"] == [US]
    doc = requests.get(f"{server.url}{BASE}/documents/{report['reportDocumentId']}", headers=headers, timeout=30)
    assert doc.status_code == 200 and doc.json()["reportDocumentId"] == report["reportDocumentId"]
    body = requests.get(doc.json()["url"], timeout=30)  # no Amazon token: the URL is pre-signed
    assert body.status_code == 200
    assert body.headers["ETag"].strip('"') == hashlib.md5(body.content).hexdigest()
    text = body.content.decode()
    assert text.splitlines()[0].split("\t") == list(ORDER_COLUMNS)
    rows = list(tsv_rows(text))
    now = server.app.world.config.now
    start, end = now - timedelta(days=60), now - timedelta(days=30)
    want = [a for a in server.app.world.amazon_orders if a.marketplace_id == US and start <= a.last_update < end]
    assert len(rows) == sum(len(a.items) for a in want) > 0
    assert {r["amazon-order-id"] for r in rows} == {a.order_id for a in want}
    gross = sum((Decimal(r["item-price"]) for r in rows), Decimal("0.00"))
    assert gross == sum((i.item_price for a in want for i in a.items), Decimal("0.00"))
    assert rows[0]["purchase-date"].endswith("+00:00") and rows[0]["currency"] == "USD"
    # Range, as S3
    part = requests.get(doc.json()["url"], headers={"Range": "bytes=10-"}, timeout=30)
    assert part.status_code == 206 and part.content == body.content[10:]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"marketplaceIds": [US]}, "reportType is required"),
        ({"reportType": "GET_NOPE", "marketplaceIds": [US]}, "Invalid Report Type"),
        ({"reportType": ORDERS_REPORT}, "marketplaceIds is required"),
        ({"reportType": ORDERS_REPORT, "marketplaceIds": ["XX"]}, "Invalid marketplaceIds"),
        ({"reportType": ORDERS_REPORT, "marketplaceIds": [US], "dataStartTime": "yesterday"}, "ISO 8601"),
    ],
)
def test_create_report_validation(server: SandboxServer, headers: dict[str, str], body: dict, message: str) -> None:
    r = create(server, headers, **body)
    assert r.status_code == 400
    error = r.json()["errors"][0]
    assert error["code"] == "InvalidInput" and message in error["message"]


def test_range_and_lookback_limits(server: SandboxServer, headers: dict[str, str]) -> None:
    too_long = create(server, headers, reportType=ORDERS_REPORT, marketplaceIds=[US], **window(server, 62, 31))
    assert too_long.status_code == 400 and "at most 30 days" in too_long.json()["errors"][0]["message"]
    ok = create(server, headers, reportType=ORDERS_REPORT, marketplaceIds=[US], **window(server, 729))
    assert ok.status_code == 202
    too_old = create(server, headers, reportType=ORDERS_REPORT, marketplaceIds=[US], **window(server, 731))
    assert too_old.status_code == 400 and "730 days" in too_old.json()["errors"][0]["message"]
    backwards = window(server, 10)
    backwards = {"dataStartTime": backwards["dataEndTime"], "dataEndTime": backwards["dataStartTime"]}
    r = create(server, headers, reportType=ORDERS_REPORT, marketplaceIds=[US], **backwards)
    assert r.status_code == 400


def test_expired_url_gzip_and_truncation_check(
    server: SandboxServer, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(amazon_reports, "GZIP_OVER_BYTES", 0)
    r = create(server, headers, reportType=ORDERS_REPORT, marketplaceIds=[US], **window(server, 90))
    report = wait_done(server, headers, r.json()["reportId"])
    doc = requests.get(f"{server.url}{BASE}/documents/{report['reportDocumentId']}", headers=headers, timeout=30).json()
    assert doc["compressionAlgorithm"] == "GZIP"
    text = gzip.decompress(requests.get(doc["url"], timeout=30).content).decode()
    assert text.startswith("amazon-order-id\t")
    real_clock = amazon_reports.CLOCK
    monkeypatch.setattr(amazon_reports, "CLOCK", lambda: real_clock() + amazon_reports.URL_TTL_S + 5)
    expired = requests.get(doc["url"], timeout=30)
    assert expired.status_code == 403 and b"<Code>AccessDenied</Code>" in expired.content
    assert b"Request has expired" in expired.content
    forged = requests.get(doc["url"].replace("X-Amz-Signature=", "X-Amz-Signature=0"), timeout=30)
    assert forged.status_code == 403 and b"SignatureDoesNotMatch" in forged.content


def test_cancel_and_list(server: SandboxServer, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(amazon_reports, "DEMO_QUEUE_S", 5.0)
    server.app.limiter.mode = "demo"  # the queue time of demo applies
    try:
        r = create(server, headers, reportType=ORDERS_REPORT, marketplaceIds=[US], **window(server, 120))
        report_id = r.json()["reportId"]
        assert (
            requests.delete(f"{server.url}{BASE}/reports/{report_id}", headers=headers, timeout=30).status_code == 200
        )
        assert wait_done(server, headers, report_id)["processingStatus"] == "CANCELLED"
        again = requests.delete(f"{server.url}{BASE}/reports/{report_id}", headers=headers, timeout=30)
        assert again.status_code == 400
    finally:
        server.app.limiter.mode = "off"
    listed = requests.get(
        f"{server.url}{BASE}/reports",
        params={"reportTypes": ORDERS_REPORT, "processingStatuses": "CANCELLED"},
        headers=headers,
        timeout=30,
    ).json()["reports"]
    assert report_id in {x["reportId"] for x in listed}
    assert {x["processingStatus"] for x in listed} == {"CANCELLED"}
    # pages of one, newest first, the filters in nextToken
    ids: list[str] = []
    params: dict[str, Any] = {"reportTypes": ORDERS_REPORT, "pageSize": 1}
    while True:
        page = requests.get(f"{server.url}{BASE}/reports", params=params, headers=headers, timeout=30).json()
        ids += [x["reportId"] for x in page["reports"]]
        if "nextToken" not in page:
            break
        params = {"nextToken": page["nextToken"]}
    assert len(ids) == len(set(ids)) == len(amazon_reports.state(server.app).reports) >= 3
    assert ids == sorted(ids, reverse=True)
    missing = requests.get(f"{server.url}{BASE}/reports", headers=headers, timeout=30)
    assert missing.status_code == 400


def test_scheduled_reports_are_listed_and_served(
    server: SandboxServer, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = server.app.world.config.now

    def produce(world: Any) -> list[ScheduledReport]:
        return [
            ScheduledReport(
                "GET_TEST_SCHEDULED",
                "9001",
                (US,),
                now - timedelta(days=14),
                now - timedelta(days=1),
                now - timedelta(days=1),
                lambda: b"a\tb\n1\t2\n",
            ),
            ScheduledReport(
                "GET_TEST_SCHEDULED",
                "9002",
                (US,),
                now - timedelta(days=1),
                now,
                now + timedelta(days=1),
                lambda: b"never\n",
            ),
        ]

    monkeypatch.setitem(amazon_reports.SCHEDULED_REPORTS, "GET_TEST_SCHEDULED", produce)
    listed = requests.get(
        f"{server.url}{BASE}/reports", params={"reportTypes": "GET_TEST_SCHEDULED"}, headers=headers, timeout=30
    ).json()["reports"]
    assert [x["reportId"] for x in listed] == ["9001"]  # the one created after now is not there yet
    doc = requests.get(f"{server.url}{BASE}/documents/{listed[0]['reportDocumentId']}", headers=headers, timeout=30)
    assert requests.get(doc.json()["url"], timeout=30).content == b"a\tb\n1\t2\n"


def test_real_rate_limits_are_the_published_ones() -> None:
    with SandboxServer(SandboxApp(TEST_WORLD, rate_limits="real"), port=0) as s:
        h = amazon_headers(s.url)
        codes = [
            create(s, h, reportType=ORDERS_REPORT, marketplaceIds=[US], **window(s, 30)).status_code for _ in range(16)
        ]
        assert codes[:15] == [202] * 15 and codes[15] == 429
        listed = [
            requests.get(f"{s.url}{BASE}/reports", params={"reportTypes": ORDERS_REPORT}, headers=h, timeout=30)
            for _ in range(11)
        ]
        assert [r.status_code for r in listed] == [200] * 10 + [429]
        assert listed[0].headers["x-amzn-RateLimit-Limit"] == "0.0222"
        assert listed[-1].json()["errors"][0]["code"] == "QuotaExceeded"
        report = requests.get(f"{s.url}{BASE}/reports/50000000001", headers=h, timeout=30)
        assert report.json()["processingStatus"] == "IN_QUEUE"  # REAL_QUEUE_S in the queue first
        assert report.headers["x-amzn-RateLimit-Limit"] == "2"
