"""The launcher's output pieces: failing sinks, lines with redraws, the live area."""

from __future__ import annotations

import io

from comet_optimize.cli.output import MAX_LINE, Lines, LiveArea, Sink, last_shown, one_row


class Terminal(io.BytesIO):
    def isatty(self) -> bool:
        return True


def test_a_sink_on_a_full_device_is_dropped_and_reported_once():
    reports = []
    with open("/dev/full", "wb") as full:
        sink = Sink(full, "log", lambda s, e: reports.append((s.name, e.errno)), own=True)
        assert sink.write(b"x" * 10) is False
        assert sink.write(b"y") is False
    assert reports == [("log", 28)] and sink.failed and not sink.alive


def test_a_redrawn_line_is_kept_as_it_last_showed():
    lines = Lines()
    assert lines.feed(b"epoch 1\n\rprogress 1/3") == [b"epoch 1\n"]
    assert lines.redraw == b"progress 1/3"
    assert lines.feed(b"\rprogress 2/3\rprogress 3/3") == []
    assert lines.redraw == b"progress 3/3"
    assert lines.feed(b"\n") == [b"progress 3/3\n"]
    assert lines.redraw is None
    assert lines.feed(b"windows\r\n") == [b"windows\n"]
    assert lines.feed(b"partial") == [] and lines.redraw is None  # no \r: not a redraw
    assert lines.rest() == [b"partial\n"]


def test_keras_backspaces_and_a_cleared_bar_are_not_what_shows():
    assert last_shown(b"bar 1\x08\x08\x08\x08\x08\rbar 2") == b"bar 2"
    assert last_shown(b"bar 9\r     \r") == b"bar 9"
    lines = Lines()
    lines.feed(b"\r10%\r   \r")
    assert lines.redraw == b"10%"


def test_a_million_redraws_use_bounded_memory():
    lines = Lines()
    for i in range(20000):
        assert lines.feed(f"\rstep {i:>10}".encode() * 5) == []
        assert len(lines.buffer) < 64
    assert lines.redraw == b"step      19999"
    assert lines.rest() == [b"step      19999\n"]


def test_a_line_without_end_is_cut_at_the_limit():
    lines = Lines()
    assert lines.feed(b"x" * (MAX_LINE + 5)) == [b"x" * (MAX_LINE + 5) + b"\n"]


def test_one_row_drops_cursor_movement_keeps_colour_and_fits_the_width():
    assert one_row("\x1b[2Aup\x1b[Kdown\x08", 80) == "updown"
    assert one_row("\x1b[31mred\x1b[0m", 80) == "\x1b[31mred\x1b[0m\x1b[0m"
    assert one_row("x" * 100, 20) == "x" * 18 + "…"
    assert one_row("漢" * 30, 21) == "漢" * 9 + "…"  # two columns each


def test_the_live_area_is_erased_for_ordinary_lines_and_drawn_again_throttled():
    screen = Terminal()
    area = LiveArea(Sink(screen, "stderr"), interval=0.1)
    area.set(0, "[w0] 10%")
    area.set_progress("[comet optimize] 0/4 done")
    assert area.wake_at() == 0.0
    area.draw(now=1.0)
    assert screen.getvalue() == b"[w0] 10%\n[comet optimize] 0/4 done"
    area.set(0, "[w0] 20%")
    assert area.wake_at() == 1.1
    area.draw(now=1.05)  # too soon: at most one repaint per interval
    assert screen.getvalue().endswith(b"0/4 done")
    area.erase()  # a worker line is about to scroll above
    assert screen.getvalue().endswith(b"\r\x1b[K\x1b[1A\x1b[K")
    assert area.wake_at() == 0.0  # an erased area comes back at once
    area.draw(now=1.06)
    assert screen.getvalue().endswith(b"[w0] 20%\n[comet optimize] 0/4 done")
    area.set(0, None)
    area.draw(now=2.0)
    assert screen.getvalue().endswith(b"\r\x1b[K\x1b[1A\x1b[K[comet optimize] 0/4 done")
