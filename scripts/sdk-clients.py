#!/usr/bin/env python3
"""Sends events to a live Veil with the real PostHog and Segment clients from PyPI
(posthog 7.91.1, segment-analytics-python 2.4.0), unchanged but for their host setting.

Used by SDKClientTests: it prints one JSON object saying what was sent and every error
the clients reported (their on_error callbacks); the test then checks what Veil stored.
The IDs, addresses and e-mail addresses are canaries: none may reach Veil's data folder.

    python sdk-clients.py --host http://127.0.0.1:PORT --posthog-key K --segment-key K [--backdate-seconds 7200]

Some events carry an explicit timestamp `--backdate-seconds` in the past (default two
hours), as a client sending a queued event late would; the output names that time.
"""
import argparse
import datetime
import json
import sys

import posthog
import segment.analytics as segment_analytics

UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"
UA_MOBILE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--posthog-key", required=True)
    ap.add_argument("--segment-key", required=True)
    ap.add_argument("--backdate-seconds", type=int, default=7200)
    args = ap.parse_args()
    errors = []
    now = datetime.datetime.now(datetime.timezone.utc)
    backdated = now - datetime.timedelta(seconds=args.backdate_seconds)

    def on_error(error, batch=None):
        errors.append(f"{type(error).__name__}: {error}")

    # PostHog, default (v0) protocol: uncompressed, then gzip.
    for gzip, person in ((False, "ph-canary-alice@example.com"), (True, "ph-canary-bob-4417")):
        client = posthog.Posthog(args.posthog_key, host=args.host, gzip=gzip, sync_mode=True, on_error=on_error)
        client.capture("$pageview", distinct_id=person, properties={
            "$current_url": "https://shop.example/pricing?utm_source=newsletter&secret=hunter2",
            "$referrer": "https://news.example.org/story",
            "$ip": "81.2.69.142", "$raw_user_agent": UA, "$screen_width": 1440, "$browser_language": "de-DE"})
        client.capture("signup", distinct_id=person, timestamp=backdated, properties={
            "$current_url": "https://shop.example/signup", "plan": "pro", "big": 12345678901234567890, "ratio": 0.1,
            "nested": {"a": {"b": 1}}, "tags": ["x", "y"], "$ip": "81.2.69.142", "$raw_user_agent": UA})
        client.flush()
        client.shutdown()
    # Identity: person properties (only the allow-listed `plan` may be kept) and an alias.
    client = posthog.Posthog(args.posthog_key, host=args.host, sync_mode=True, on_error=on_error)
    client.set(distinct_id="ph-canary-alice@example.com", properties={"plan": "pro", "email": "ph-canary-alice@example.com"})
    client.alias(previous_id="ph-canary-anon-9931", distinct_id="ph-canary-alice@example.com")
    client.flush()
    client.shutdown()
    # PostHog's v1 protocol, gzip-compressed.
    client = posthog.Posthog(args.posthog_key, host=args.host, sync_mode=True, on_error=on_error, capture_mode="v1", capture_compression="gzip")
    client.capture("$pageview", distinct_id="ph-canary-carol-v1", properties={"$current_url": "https://shop.example/v1-page", "$raw_user_agent": UA_MOBILE})
    client.capture("checkout", distinct_id="ph-canary-carol-v1", properties={"$current_url": "https://shop.example/v1-page", "total": 42})
    client.flush()
    client.shutdown()

    # Segment: one call per request, then a gzip batch.
    for gzip, user in ((False, "seg-canary-dave-5521"), (True, "seg-canary-erin@example.com")):
        client = segment_analytics.Client(args.segment_key, host=args.host, gzip=gzip, sync_mode=True, on_error=on_error)
        context = {"ip": "81.2.69.160", "userAgent": UA_MOBILE, "locale": "fr-FR"}
        client.page(user_id=user, name="Docs", properties={"url": "https://shop.example/docs/start", "referrer": "https://search.example.com/?q=veil"},
                    context=context)
        client.track(user_id=user, event="Order Completed", properties={"revenue": 99.5, "sku": "SKU-1", "items": [{"id": 1}, {"id": 2}]},
                     context=context, timestamp=backdated)
        client.identify(user_id=user, anonymous_id="seg-canary-anon-" + user[-4:], traits={"plan": "team", "email": "seg-canary-erin@example.com"})
        client.flush()  # in sync mode every call was sent already; there are no consumers to shut down

    json.dump({"errors": errors, "backdated_ms": int(backdated.timestamp() * 1000)}, sys.stdout)


if __name__ == "__main__":
    main()
