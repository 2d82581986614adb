"""Benchmark of masspost.sms against the PyPI packages smsutil and pygsm7, in one run.

    .venv/bin/pip install smsutil pygsm7     # for the benchmark only, never a project dependency
    .venv/bin/python benchmarks/bench_sms.py [--repeat 5] [--messages 1000000]

Times encoding + number of parts over the same hard corpus (best of N, time.perf_counter), prints the
ratios, times one million personalised messages through `measure` and `segment`, and lists where each
peer's answer differs from ours, classified by cause. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import pygsm7  # noqa: E402
import smsutil  # noqa: E402
from sms_corpus import hard_corpus, personalised  # noqa: E402

from masspost.sms import GSM7, MULTI_PART_LIMIT, SINGLE_PART_LIMIT, UCS2, measure, segment  # noqa: E402

Answer = tuple[str, int, int]  # (encoding, units, parts)


def ours(text: str) -> Answer:
    return measure(text)


def ours_segment(text: str) -> Answer:
    result = segment(text)
    return result.encoding, result.units, len(result.parts)


def with_smsutil(text: str) -> Answer:
    """smsutil.split does encoding and splitting itself; it counts octets, two per UCS-2 unit."""
    result = smsutil.split(text)
    if result.encoding == "gsm0338":
        return GSM7, result.total_bytes, len(result.parts)
    return UCS2, result.total_bytes // 2, len(result.parts)


_PYGSM7_EXTENSION = frozenset(chr(int(code, 16)) for code in pygsm7.GSM7_Table_Extend)


def with_pygsm7(text: str) -> Answer:
    """pygsm7 has an encoder but no splitter: its encoder decides the encoding, its tables give the
    septets, and parts come from the usual ceil(units / 153) formula, as a developer using it would."""
    try:
        pygsm7.encode_gsm7(text)
    except ValueError:
        encoding, units = UCS2, len(pygsm7.encodeMessage(text)) // 4
    else:
        encoding, units = GSM7, len(text) + sum(1 for char in text if char in _PYGSM7_EXTENSION)
    if units <= SINGLE_PART_LIMIT[encoding]:
        return encoding, units, 1
    return encoding, units, -(-units // MULTI_PART_LIMIT[encoding])


def best_of(repeat: int, function: Callable[[str], Answer], texts: list[str]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for text in texts:
            function(text)
        best = min(best, time.perf_counter() - start)
    return best


def cause(text: str, mine: Answer, theirs: Answer) -> str:
    if text == "":
        return "empty text: called UCS-2 (3GPP: nothing to encode, GSM-7, 1 part, 0 units)"
    if "\x1b" in text and theirs[0] == GSM7:
        return "U+001B counted as a GSM-7 character (3GPP: ESC is the escape code, not a character)"
    if mine[:2] == theirs[:2] and theirs[2] < mine[2]:
        return "parts from ceil(units/limit): a 2-unit character straddling a boundary moves whole"
    return "other"


def disagreements(texts: list[str], peer: Callable[[str], Answer]) -> tuple[Counter[str], dict[str, str]]:
    causes: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for text in texts:
        mine, theirs = measure(text), peer(text)
        if mine != theirs:
            why = cause(text, mine, theirs)
            causes[why] += 1
            examples.setdefault(why, f"{text[:40]!r}... ours {mine}, theirs {theirs}")
    return causes, examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--corpus", type=int, default=24_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()

    corpus = hard_corpus(args.corpus)
    python = f"Python {platform.python_version()} on {platform.machine()}"
    print(f"{python}, corpus {len(corpus)} texts, best of {args.repeat}")
    timings = {
        "masspost.sms.measure": best_of(args.repeat, ours, corpus),
        "masspost.sms.segment": best_of(args.repeat, ours_segment, corpus),
        "smsutil": best_of(args.repeat, with_smsutil, corpus),
        "pygsm7": best_of(args.repeat, with_pygsm7, corpus),
    }
    baseline = timings["masspost.sms.measure"]
    fastest_peer = min(timings["smsutil"], timings["pygsm7"])
    for name, seconds in timings.items():
        print(f"  {name:22} {seconds * 1e3:9.1f} ms  {seconds / len(corpus) * 1e6:7.2f} µs/text  "
              f"{seconds / baseline:6.1f}x measure")  # fmt: skip
    print(f"  measure is {fastest_peer / baseline:.1f}x faster than the fastest peer")

    for name, peer in (("smsutil", with_smsutil), ("pygsm7", with_pygsm7)):
        causes, examples = disagreements(corpus, peer)
        print(f"Disagreements with {name}: {sum(causes.values())} of {len(corpus)}")
        for why, count in causes.most_common():
            print(f"  {count:6}  {why}\n          e.g. {examples[why]}")

    messages = list(personalised(args.messages))
    lengths = [len(text) for text in messages]
    print(f"{len(messages)} personalised messages, {min(lengths)}-{max(lengths)} characters, "
          f"{sum(measure(text)[0] == UCS2 for text in messages) / len(messages):.0%} UCS-2")  # fmt: skip
    for name, function in (("measure", measure), ("segment", segment)):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for text in messages:
                function(text)
            best = min(best, time.perf_counter() - start)
        print(f"  {name:8} {best:6.2f} s  ({best / len(messages) * 1e6:.2f} µs/message)")


if __name__ == "__main__":
    main()
