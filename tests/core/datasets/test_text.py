"""Text import: every file is made here as bytes in the encoding under test; no fixtures on disk."""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.core.datasets import text
from studio.core.datasets.base import FIXED, OK, SKIPPED, ImportOptions, Normalized

ROOT = Path(__file__).resolve().parents[3]

SIMPLIFIED = (
    "春天来了，公园里的花都开了。孩子们在草地上奔跑，老人们坐在长椅上聊天，"
    "空气中弥漫着淡淡的花香。我们明天早上八点在学校门口见面，然后一起去博物馆参观。"
)
TRADITIONAL = (
    "春天來了，公園裡的花都開了。孩子們在草地上奔跑，老人們坐在長椅上聊天，"
    "空氣中瀰漫著淡淡的花香。我們明天早上八點在學校門口見面，然後一起去博物館參觀。"
)
LATIN = [
    "Grüße, naïve café",
    "Die Größe der Bäume überrascht mich jedes Mal, wenn ich durch den Wald gehe.",
    "Le garçon a mangé une crème brûlée à la fenêtre de l'hôtel, près de la forêt.",
]


def run(data: bytes, name: str = "story.txt", **options) -> Normalized:
    result = text.normalize(data, name, ImportOptions(**options))
    assert isinstance(result, Normalized)
    if result.status != SKIPPED:
        assert result.suffix == ".txt"
        assert result.payload is not None
        result.payload.decode("utf-8")  # always valid UTF-8
    return result


def payload_text(result: Normalized) -> str:
    return result.payload.decode("utf-8")


# -- encodings ---------------------------------------------------------------------------------------------


def test_clean_utf8_is_ok_and_stored_byte_for_byte():
    data = "Hello 世界 — naïve café 🎉\nsecond line\n".encode()
    result = run(data)
    assert result.status == OK
    assert result.fixes == []
    assert result.payload is data
    assert result.meta["encoding"] == "utf-8"
    assert result.meta["encoding_confidence"] == 1.0
    assert result.meta["format"] == "txt"


def test_utf8_bom_is_removed():
    result = run(codecs.BOM_UTF8 + "你好，世界。\n".encode())
    assert result.status == FIXED
    assert result.fixes == ["byte-order mark removed"]
    assert result.payload == "你好，世界。\n".encode()
    assert result.meta["encoding"] == "utf-8"


@pytest.mark.parametrize(
    "bom, codec, encoding, label",
    [
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le", "UTF-16 LE"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be", "UTF-16 BE"),
    ],
)
def test_utf16_with_bom_is_converted(bom, codec, encoding, label):
    original = "Windows Notepad 保存的文件\nline two\n"
    result = run(bom + original.encode(codec))
    assert result.status == FIXED
    assert result.fixes == [f"converted from {label} to UTF-8"]
    assert payload_text(result) == original  # BOM gone, nothing else changed
    assert result.meta["encoding"] == encoding
    assert result.meta["encoding_confidence"] == 1.0


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_recognised_by_its_nul_bytes(codec):
    original = "plain ASCII text with a little 中文 in it\n" * 3
    result = run(original.encode(codec))
    assert result.meta["encoding"] == codec
    assert payload_text(result) == original
    assert result.meta["encoding_confidence"] > 0.8


def test_gb18030_chinese_is_detected_and_converted():
    result = run(SIMPLIFIED.encode("gb18030"))
    assert result.meta["encoding"] == "gb18030"
    assert result.status == FIXED
    assert result.fixes == ["converted from GB18030 to UTF-8"]
    assert payload_text(result) == SIMPLIFIED
    assert result.meta["encoding_confidence"] > 0.8
    assert result.flags == []


def test_big5_traditional_chinese_is_detected_and_converted():
    result = run(TRADITIONAL.encode("big5"))
    assert result.meta["encoding"] == "big5"
    assert result.fixes == ["converted from Big5 to UTF-8"]
    assert payload_text(result) == TRADITIONAL
    assert result.meta["encoding_confidence"] > 0.8


def test_traditional_chinese_saved_as_gbk_is_still_gb18030():
    """GBK can hold traditional characters; the detector must judge the characters, not the script."""
    result = run(TRADITIONAL.encode("gbk"))
    assert result.meta["encoding"] == "gb18030"
    assert payload_text(result) == TRADITIONAL


@pytest.mark.parametrize("sentence", LATIN)
def test_latin1_german_and_french_are_not_mistaken_for_chinese(sentence):
    result = run(sentence.encode("latin-1"))
    assert result.meta["encoding"] == "latin-1"
    assert result.fixes == ["converted from Latin-1 to UTF-8"]
    assert payload_text(result) == sentence


def test_windows_1252_curly_quotes_are_not_control_characters():
    sentence = "He said \u201chello\u201d \u2014 it costs 5\u20ac\u2026"
    result = run(sentence.encode("cp1252"))
    assert result.meta["encoding"] == "cp1252"
    assert result.fixes == ["converted from Windows-1252 to UTF-8"]
    assert payload_text(result) == sentence


def test_utf8_with_one_damaged_byte_stays_utf8():
    good = ("这是一个很长的中文段落，用来确认少量损坏的字节不会让整个文件被当成别的编码。" * 2).encode()
    result = run(good + b"\xff" + good)
    assert result.meta["encoding"] == "utf-8"
    assert "1 undecodable character replaced with \ufffd" in result.fixes
    assert payload_text(result) == good.decode() + "\ufffd" + good.decode()
    assert result.meta["replaced_characters"] == 1


def test_forced_encoding_wins_over_detection():
    data = SIMPLIFIED.encode("gb18030")
    result = run(data, text_encoding="big5")
    assert result.meta["encoding"] == "big5"
    assert result.meta["encoding_confidence"] == 1.0
    assert payload_text(result) == data.decode("cp950", errors="replace")
    assert payload_text(result) != SIMPLIFIED

    latin = run("café".encode(), text_encoding="latin1")  # a forced UTF-8 file read as Latin-1: mojibake
    assert latin.meta["encoding"] == "latin-1"
    assert payload_text(latin) == "cafÃ©"


def test_forced_utf8_reports_damage_and_suspects_the_choice():
    result = run(SIMPLIFIED.encode("gb18030"), text_encoding="utf-8")
    assert result.meta["encoding"] == "utf-8"
    assert result.meta["replaced_characters"] > 10
    assert any("UTF-8 may be the wrong encoding" in flag for flag in result.flags)


def test_unknown_forced_encoding_is_a_plain_reason():
    assert run(b"hello", text_encoding="klingon").reason == "unknown text encoding 'klingon'"
    assert run(b"hello", text_encoding="base64").reason == "unknown text encoding 'base64'"


def test_detect_encoding_public_helper():
    assert text.detect_encoding(b"plain ascii") == ("utf-8", 1.0)
    assert text.detect_encoding(codecs.BOM_UTF16_LE + "x".encode("utf-16-le")) == ("utf-16-le", 1.0)
    assert text.detect_encoding(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01") == (None, 0.0)
    assert text.encoding_label("gb18030") == "GB18030"
    assert text.canonical_encoding("ISO-8859-1") == "latin-1"
    assert set(text.ENCODINGS) >= {"utf-8", "utf-16-le", "utf-16-be", "gb18030", "big5", "latin-1"}


# -- Unicode and line endings ------------------------------------------------------------------------------


def test_combining_accent_is_composed_nfc():
    result = run("Cafe\u0301 au lait".encode())
    assert result.status == FIXED
    assert result.fixes == ["Unicode normalized (NFC)"]
    assert payload_text(result) == "Caf\u00e9 au lait"


def test_crlf_and_cr_become_lf():
    result = run(b"one\r\ntwo\rthree\r\n")
    assert result.fixes == ["line endings normalized"]
    assert result.payload == b"one\ntwo\nthree\n"
    assert result.meta["lines"] == 3


def test_all_fixes_together_in_order():
    data = codecs.BOM_UTF16_LE + "Cafe\u0301\r\n".encode("utf-16-le")
    result = run(data)
    assert result.fixes == ["converted from UTF-16 LE to UTF-8", "Unicode normalized (NFC)", "line endings normalized"]
    assert result.payload == "Café\n".encode()


# -- csv and jsonl -----------------------------------------------------------------------------------------

CSV = (
    "id,label,text\n"
    '1,pos,"今天天气很好，我们去公园散步吧。"\n'
    '2,neg,"A quoted cell, with a comma\nand a second line"\n'
    "3,pos,\n"
    "4,neg,Short one\n"
).encode()


def test_csv_picks_the_most_text_like_column():
    result = run(CSV, "reviews.csv")
    assert result.meta["csv_column"] == "text"
    assert result.meta["csv_columns"] == ["id", "label", "text"]
    assert result.meta["csv_rows"] == 4
    assert payload_text(result) == (
        "今天天气很好，我们去公园散步吧。\n\nA quoted cell, with a comma\nand a second line\n\nShort one"
    )
    assert result.status == FIXED
    assert "text taken from column 'text'" in result.fixes
    assert "1 row with no text in column 'text' left out" in result.flags
    assert result.meta["paragraphs"] == 3  # the two-line cell stays one paragraph


def test_csv_explicit_column_and_case_insensitive_match():
    result = run(CSV, "reviews.csv", csv_column="label")
    assert payload_text(result) == "pos\n\nneg\n\npos\n\nneg"
    assert result.meta["csv_column"] == "label"
    assert run(CSV, "reviews.csv", csv_column=" TEXT ").meta["csv_column"] == "text"


def test_csv_missing_column_is_skipped_with_the_choices():
    result = run(CSV, "reviews.csv", csv_column="body")
    assert result.status == SKIPPED
    assert result.reason == "column 'body' not found; columns are: id, label, text"


def test_csv_semicolon_delimiter_and_gb18030():
    data = "编号;内容\n1;第一句话，很长很长。\n2;第二句话。\n".encode("gb18030")
    result = run(data, "zh.csv")
    assert result.meta["encoding"] == "gb18030"
    assert result.meta["csv_columns"] == ["编号", "内容"]
    assert result.meta["csv_column"] == "内容"
    assert payload_text(result) == "第一句话，很长很长。\n\n第二句话。"


def test_csv_without_text_is_skipped():
    assert run(b"a,b\n1,2\n3,4\n", "n.csv").reason == "no column holds text; columns are: a, b"
    assert run(b"text\n", "h.csv").reason == "the CSV file has no rows under its header"


def test_jsonl_bad_line_is_counted_not_fatal():
    lines = [
        json.dumps({"id": 1, "text": "第一条记录。"}, ensure_ascii=False),
        '{"id": 2, "text": "broken',
        json.dumps({"id": 3, "text": "Third record."}),
        "",
        json.dumps({"id": 4, "title": "no text field"}),
    ]
    result = run("\n".join(lines).encode(), "data.jsonl")
    assert result.meta["bad_lines"] == 1
    assert result.meta["jsonl_field"] == "text"
    assert result.meta["jsonl_fields"] == ["id", "text", "title"]
    assert payload_text(result) == "第一条记录。\n\nThird record."
    assert "1 line is not valid JSON (skipped)" in result.flags
    assert "1 record without field 'text' left out" in result.flags
    assert "text taken from field 'text'" in result.fixes


def test_jsonl_explicit_field_first_string_field_and_missing_field():
    data = b'{"n": 1, "body": "alpha", "note": "x"}\n{"n": 2, "body": "beta", "note": "y"}\n'
    assert payload_text(run(data, "d.jsonl")) == "alpha\n\nbeta"  # no "text": first string field
    assert payload_text(run(data, "d.jsonl", jsonl_field="note")) == "x\n\ny"
    missing = run(data, "d.jsonl", jsonl_field="text")
    assert missing.reason == "field 'text' not found; fields are: n, body, note"
    assert run(b"not json\n{also not\n", "d.jsonl").reason == "no line is valid JSON"


def test_markdown_is_kept_as_text():
    data = "# 标题\n\n- item *one*\n".encode()
    result = run(data, "notes.MD")
    assert result.status == OK and result.payload == data
    assert result.meta["format"] == "md"


# -- skipped ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)), text.BINARY),
        (bytes(range(1, 32)) * 8, text.BINARY),  # control characters without a single NUL
        (b"  \n\t\r\n  ", "no text in this file (only spaces and line breaks)"),
    ],
)
def test_unusable_files_are_skipped_with_a_plain_reason(data, reason):
    result = run(data)
    assert result.status == SKIPPED
    assert result.reason == reason
    assert result.payload is None


def test_hostile_input_never_raises():
    nested = ("[" * 100_000 + "]" * 100_000 + "\n").encode()
    samples = [
        os.urandom(4096),
        nested,
        b"\xff\xfe\x00",
        b"\xef\xbb\xbf",
        b'a,b\n"unterminated\n',
        codecs.BOM_UTF16_LE + b"\x00\xd8",
        bytes([0x81]) * 999,
    ]
    for data in samples:
        for name in ("x.txt", "x.csv", "x.jsonl"):
            assert text.normalize(data, name, ImportOptions()).status in (OK, FIXED, SKIPPED)


# -- dedupe and duplicates --------------------------------------------------------------------------------


def test_same_text_in_utf8_and_gb18030_has_one_dedupe_key():
    a = run(SIMPLIFIED.encode("utf-8"))
    b = run(SIMPLIFIED.encode("gb18030"))
    c = run(codecs.BOM_UTF16_BE + (SIMPLIFIED + "\n").encode("utf-16-be"))  # trailing newline ignored
    assert a.dedupe_key == b.dedupe_key == c.dedupe_key
    assert a.dedupe_key == hashlib.sha256(SIMPLIFIED.encode()).hexdigest()
    assert run(TRADITIONAL.encode()).dedupe_key != a.dedupe_key


def test_nfd_and_nfc_copies_are_duplicates():
    assert run("Cafe\u0301".encode()).dedupe_key == run("Café".encode("latin-1")).dedupe_key


def test_duplicate_paragraphs_in_one_file_are_counted_and_flagged():
    body = "第一段。\n\nSecond  paragraph.\n\n第一段。\n\n---\n\n---\n\nSecond paragraph.\n\n第三段。"
    result = run(body.encode())
    assert result.meta["paragraphs"] == 7
    assert result.meta["duplicate_paragraphs"] == 2  # "---" separators do not count
    assert "2 duplicate paragraphs" in result.flags
    single = run(b"one line\nother line\none line\n")
    assert single.meta["duplicate_paragraphs"] == 1
    assert "1 duplicate paragraph" in single.flags
    assert run(b"a\n\nb").flags == []


def test_paragraphs_helper():
    assert text.paragraphs("a\nb\n \n\nc\r\n\r\nd") == ["a\nb", "c", "d"]
    assert text.paragraphs("line one\r\nline two\n\n") == ["line one", "line two"]
    assert text.paragraphs(" \n ") == []


def test_duplicate_paragraphs_across_files():
    texts = ["春眠不觉晓\n\nshared", "other\n\nshared\n\n春眠不觉晓", "new\n\nnew"]
    assert text.duplicate_paragraphs(texts) == [(1, 1), (1, 2), (2, 1)]


# -- statistics -------------------------------------------------------------------------------------------


def test_stats_for_mixed_chinese_english_emoji():
    sample = "我爱Python！\nCafé 🎉 naïve\n\n東京タワーは高い。한국어 OK"
    result = run(sample.encode())
    meta = result.meta
    assert meta["characters"] == 39  # 9 + LF + 12 + LF + LF + 9 + 3 + space + 2
    assert meta["words"] == 4  # Python！ Café naïve OK; the emoji and 。 are not words
    assert meta["cjk_characters"] == 13  # 我爱 東京 タワー は 高 い 한국어
    assert meta["unique_characters"] == 33
    assert meta["lines"] == 4
    assert meta["paragraphs"] == 2


def test_measure_counts_code_points():
    assert text.measure("👍🏽") == {
        "characters": 2,
        "words": 0,
        "cjk_characters": 0,
        "unique_characters": 2,
        "lines": 1,
    }
    assert text.measure("e\u0301")["characters"] == 2  # measure itself does not normalize
    assert text.measure("")["lines"] == 0
    assert text.count_words("它是GPT-2模型 and more") == 3


def test_text_stats_sums_metas():
    metas = [
        run("你好 world\n".encode()).meta,
        run(b"one two\nthree\n").meta,
        run(SIMPLIFIED.encode("gb18030")).meta,
        {},
        run(b"").meta,
    ]
    stats = text.text_stats(metas)
    assert stats["files"] == 3
    assert stats["characters"] == 9 + 14 + len(SIMPLIFIED)
    assert stats["words"] == 1 + 3 + 0
    assert stats["cjk_characters"] == 2 + 0 + sum("\u4e00" <= ch <= "\u9fff" for ch in SIMPLIFIED)
    assert stats["lines"] == 1 + 2 + 1
    assert stats["max_unique_characters"] == len(set(SIMPLIFIED))
    assert stats["encodings"] == {"utf-8": 2, "gb18030": 1}
    assert text.text_stats([])["files"] == 0


# -- architecture ------------------------------------------------------------------------------------------


def test_importing_text_pulls_in_neither_qt_nor_torch():
    code = (
        "import sys, studio.core.datasets.text; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'torch', 'charset_normalizer')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
