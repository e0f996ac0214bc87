"""The board as one self-contained HTML file: it parses, embeds one picture per (checkpoint, seed) and one
<audio> per (checkpoint, sentence), escapes every text, and holds no web address, no script and no external asset."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

from studio.core.compare.board import RenderBoard
from studio.core.compare.html_export import _CONTROL, board_html, data_uri, text, write_board_html
from studio.core.jobs import JobContext


class Collector(HTMLParser):
    """Every start tag with its attributes, and the document's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data) -> None:
        self.text.append(data)

    def of(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.tags if name == tag]


def parse(document: str) -> Collector:
    collector = Collector()
    collector.feed(document)
    collector.close()
    return collector


def assert_self_contained(document: str, parsed: Collector) -> None:
    assert "http" not in document.lower()
    assert document.startswith("<!DOCTYPE html>")
    assert not parsed.of("script") and not parsed.of("link") and not parsed.of("iframe")
    for name, attrs in parsed.tags:
        for key, value in attrs.items():
            assert key not in ("href", "srcset") and not key.startswith("on"), (name, key)
            if key == "src":
                assert value.startswith("data:"), value[:40]


def embedded(src: str) -> bytes:
    """The bytes of a data: URI as a browser reads them (URL parsing drops line breaks)."""
    return base64.b64decode(src.split(",", 1)[1].replace("\n", ""))


def test_gan_board_html_has_one_picture_per_checkpoint_and_seed(board_project, tmp_path):
    project, run_id = board_project["project"], board_project["gan"]
    board = RenderBoard(project, [run_id], seeds=4)(JobContext())
    path = write_board_html(project, board, tmp_path / "out" / "board.html")
    document = path.read_text(encoding="utf-8")
    parsed = parse(document)
    assert_self_contained(document, parsed)

    images = parsed.of("img")
    assert len(images) == 3 * 4
    assert all(img["src"].startswith("data:image/png;base64,") for img in images)
    files = [project / cell["file"] for column in board["cells"] for cell in column]
    assert [embedded(img["src"]) for img in images[:3]] == [
        files[0].read_bytes(),
        files[4].read_bytes(),
        files[8].read_bytes(),
    ]
    words = " ".join(parsed.text)
    assert "Step 4" in words and "Step 12" in words and "Best" in words and "val fid" in words
    assert "dataset “shapes”" in words and "resolution" in words
    assert document.count('class="px"') == 12  # 32 px pictures are enlarged with hard pixel edges


def test_voice_board_html_has_one_audio_element_per_checkpoint_and_sentence(board_project):
    project, run_id = board_project["project"], board_project["voice"]
    board = RenderBoard(project, [run_id])(JobContext())
    document = board_html(project, board)
    parsed = parse(document)
    assert_self_contained(document, parsed)
    audio = parsed.of("audio")
    assert len(audio) == 3 * 2
    assert all("controls" in attrs and attrs["src"].startswith("data:audio/wav;base64,") for attrs in audio)
    first = project / board["cells"][0][0]["file"]
    assert embedded(audio[0]["src"]) == first.read_bytes()
    assert not parsed.of("img")


def test_texts_are_escaped_and_web_addresses_defused(board_project):
    project, run_id = board_project["project"], board_project["gpt"]
    prompt = '<script>alert("x")</script> Visit HTTPS://example.test & http://x'
    board = RenderBoard(project, [run_id], prompts=[prompt])(JobContext())
    board["runs"][0]["name"] = "Client <b>run</b> http"
    document = board_html(project, board)
    parsed = parse(document)
    assert_self_contained(document, parsed)
    assert "<script>" not in document and "<b>run" not in document
    shown = "".join(parsed.text)  # what a reader sees: the very characters of the prompt
    assert prompt in shown and "Client <b>run</b> http" in shown
    for column in board["cells"]:  # each text as written, its control characters shown as U+FFFD
        assert all(_CONTROL.sub("\ufffd", cell["text"]) in shown for cell in column)


def test_base64_and_text_never_spell_http():
    data = base64.b64decode("aHR0cA" + "AAhttpAAHTTPAAhTtP" + "==")  # bytes whose base64 holds every casing
    uri = data_uri("image/png", data)
    assert "http" not in uri.lower()
    assert base64.b64decode(uri.split(",", 1)[1].replace("\n", "")) == data
    assert "http" not in text("see http://a and HtTp").lower() and "&lt;" in text("<")
    assert text("a\x00b\x1bc") == "a\ufffdb\ufffdc"


def test_missing_cells_and_files_outside_the_project_are_not_embedded(board_project, tmp_path):
    project, run_id = board_project["project"], board_project["gan"]
    board = RenderBoard(project, [run_id], seeds=1)(JobContext())
    secret = tmp_path / "secret.png"
    secret.write_bytes(Path(project / board["cells"][0][0]["file"]).read_bytes())
    board["cells"][0][0] = {"file": "../secret.png"}
    board["cells"][1][0] = None
    document = board_html(project, board)
    assert len(parse(document).of("img")) == 1
    assert "Not rendered" in document and "missing" in document
