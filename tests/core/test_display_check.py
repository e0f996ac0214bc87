import ctypes.util

from studio import display_check


def test_no_display_gives_a_plain_message():
    message = display_check.display_problem({})
    assert message.startswith("No display was found") and "aigc-studio --help" in message


def test_offscreen_and_wayland_are_left_to_qt():
    assert display_check.display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert display_check.display_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None


def test_missing_xcb_libraries_name_the_packages(monkeypatch):
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None if name == "xcb-cursor" else f"lib{name}.so")
    message = display_check.display_problem({"DISPLAY": ":0"})
    assert message.endswith("sudo apt-get install libxcb-cursor0")


def test_a_complete_x11_setup_passes(monkeypatch):
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: f"lib{name}.so")
    assert display_check.display_problem({"DISPLAY": ":0"}) is None
