"""The plan of a drop: which new dataset name it gets and what the two targets say (names only, no Qt)."""

from studio.core.datasets.drops import plan_drop, unique_name


def test_a_taken_name_gets_the_first_free_number_and_free_siblings():
    assert unique_name("icons", ["shapes"]) == "icons"
    assert unique_name("icons", ["Icons", "icons-2"]) == "icons-3"  # case-insensitively, as folders are
    # a split drop's text files would pour into an existing "icons-2-text": the next name is taken instead
    assert unique_name("icons", ["icons", "icons-2-text"], ["text"]) == "icons-3"


def test_the_plan_counts_strays_and_offers_add_to_only_for_the_same_kind(tmp_path):
    drop = tmp_path / "moodboard"
    drop.mkdir()
    for i in range(3):
        (drop / f"{i}.png").write_bytes(b"")
    (drop / "a.md").write_text("a")
    (drop / "b.txt").write_text("b")
    plan = plan_drop([drop], ["icons"], selected="icons", selected_kind="image")
    assert (plan.kind, plan.new_name, plan.add_to, plan.complete) == ("image", "moodboard", "icons", True)
    assert plan.siblings() == {"text": "moodboard-text"}
    assert plan.new_text().endswith("Among them, 2 text files go to a separate dataset “moodboard-text”.")
    assert "2 text files are skipped" in plan.add_text()
    text_selected = plan_drop([drop], ["copy"], selected="copy", selected_kind="text")
    assert text_selected.add_to is None and text_selected.add_text() == ""
