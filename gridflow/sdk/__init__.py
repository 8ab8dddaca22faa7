"""The publisher SDK for upstream apps: build valid events, publish them with acks=all.

    from gridflow.sdk import Publisher
    with Publisher(settings, producer="wanggejiahe-app") as pub:
        matter = pub.report(category="sanitation", place="u-beijiang-c03", reporter="r-7f3a9c",
                            text="rubbish piled at gate 3")
        pub.accept(matter, unit="u-beijiang-g01", handler="h-grid-0211")

See docs/sdk.md.
"""
from gridflow.sdk.factory import EventFactory, new_id, new_matter_id, now_ms, to_millis
from gridflow.sdk.jsonl import LineResult, parse_line, read_jsonl
from gridflow.sdk.publisher import Batch, PublishError, Publisher

__all__ = ["Batch", "EventFactory", "LineResult", "PublishError", "Publisher", "new_id", "new_matter_id",
           "now_ms", "parse_line", "read_jsonl", "to_millis"]
