"""Labelled sets written at test time from sentences: a small BEIR folder and a scored-pairs file,
in the layouts users have (docs/evaluation.md), for --eval's tests."""
from __future__ import annotations

import json
from pathlib import Path

# topic -> (queries, relevant documents, other documents on the topic's edge)
TOPICS = {
    "password": (["How do I reset my password?", "forgot my login password"],
                 ["Click 'Forgot password' on the sign-in page and follow the link we email you.",
                  "To change a forgotten password, request a reset link from the login screen."],
                 ["Passwords must be at least twelve characters long."]),
    "japan": (["What is the capital of Japan?", "largest city in Japan"],
              ["Tokyo is the capital and largest city of Japan.", "東京は日本の首都です。"],
              ["Kyoto was the imperial capital for a thousand years."]),
    "float16": (["Why do half-precision models produce NaN?", "float16 overflow in transformers"],
                ["float16 overflows above 65504, and inf minus inf gives NaN.",
                 "Activations past the half-precision range become infinite and then NaN."],
                ["bfloat16 keeps float32's exponent range with fewer mantissa bits."]),
    "weather": (["Will it snow in Moscow tomorrow?", "weather forecast for tomorrow"],
                ["Tomorrow Moscow expects snow and minus ten degrees.",
                 "The forecast for tomorrow: cold, with snow showers in the afternoon."],
                ["Moscow is the capital of Russia."]),
    "python": (["python sort a list of dicts by key", "order rows by a field in python"],
               ["sorted(rows, key=lambda r: r['age']) returns a new list ordered by age.",
                "list.sort(key=itemgetter('name')) sorts the dictionaries in place by name."],
               ["SELECT * FROM users ORDER BY age;"]),
    "bananas": (["are bananas healthy?", "which fruit has potassium"],
                ["Bananas are rich in potassium and vitamin B6.",
                 "A medium banana holds about 420 milligrams of potassium."],
                ["Apples keep well through the winter in a cool cellar."]),
    "trains": (["when does the train to Madrid leave?", "Madrid train timetable"],
               ["El tren a Madrid sale a las ocho y media.",
                "The morning train to Madrid departs at 8:30 from platform four."],
               ["Barcelona has a long beach close to the city centre."]),
    "rates": (["did the central bank raise interest rates?", "interest rate decision"],
              ["The central bank raised interest rates by 25 basis points on Tuesday.",
               "Policy makers lifted the benchmark rate a quarter point to fight inflation."],
              ["Mortgage applications fell for the third week in a row."]),
}

PAIRS = [
    ("A man is playing a guitar.", "A man plays the guitar.", 5.0),
    ("A man is playing a guitar.", "A woman is slicing an onion.", 0.2),
    ("A woman is slicing an onion.", "Someone is cutting an onion.", 4.6),
    ("A dog runs in the park.", "A puppy is running on the grass.", 4.0),
    ("A dog runs in the park.", "The stock market fell sharply.", 0.0),
    ("The stock market fell sharply.", "Shares dropped steeply today.", 4.4),
    ("The cat sleeps on the sofa.", "A cat is napping on the couch.", 4.8),
    ("The cat sleeps on the sofa.", "A man is playing a guitar.", 0.1),
    ("Children are playing football.", "Kids play soccer in the street.", 4.2),
    ("Children are playing football.", "An orchestra performs a symphony.", 0.4),
    ("It is raining in London.", "London has wet weather today.", 3.9),
    ("It is raining in London.", "Paris is sunny this afternoon.", 1.2),
    ("The train leaves at eight.", "The train departs at 8 o'clock.", 4.9),
    ("The train leaves at eight.", "The plane lands at noon.", 1.5),
    ("She is reading a book.", "A woman reads a novel.", 4.1),
    ("She is reading a book.", "He is writing a letter.", 1.8),
]


def beir_rows() -> tuple[list[dict], list[dict], list[tuple[str, str, int]]]:
    """(corpus, queries, qrels): every query judges its topic's two documents relevant, the edge one 0."""
    corpus, queries, qrels = [], [], []
    for topic, (asked, relevant, other) in TOPICS.items():
        ids = []
        for number, text in enumerate([*relevant, *other]):
            ids.append(f"{topic}-d{number}")
            corpus.append({"_id": ids[-1], "title": topic.title() if number == 0 else "", "text": text})
        for number, text in enumerate(asked):
            queries.append({"_id": f"{topic}-q{number}", "text": text})
            qrels += [(queries[-1]["_id"], ids[0], 1), (queries[-1]["_id"], ids[1], 1), (queries[-1]["_id"], ids[2], 0)]
    return corpus, queries, qrels


def write_beir(folder: Path, corpus=None, queries=None, qrels=None) -> Path:
    default = beir_rows()
    corpus, queries, qrels = (default[0] if corpus is None else corpus, default[1] if queries is None else queries,
                              default[2] if qrels is None else qrels)
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in corpus),
                                         encoding="utf-8")
    (folder / "queries.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries),
                                          encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels), encoding="utf-8")
    return folder


def write_pairs_tsv(path: Path, rows=None) -> Path:
    rows = PAIRS if rows is None else rows
    path.write_text("sentence1\tsentence2\tscore\n" + "".join(f"{a}\t{b}\t{s}\n" for a, b, s in rows),
                    encoding="utf-8")
    return path


def write_pairs_jsonl(path: Path, rows=None) -> Path:
    rows = PAIRS if rows is None else rows
    path.write_text("".join(json.dumps({"sentence1": a, "sentence2": b, "score": s}, ensure_ascii=False) + "\n"
                            for a, b, s in rows), encoding="utf-8")
    return path
