"""The kiosk's screens as Kivy widgets: thin, drawn from a `KioskView`, every tap sent to the presenter.

Nothing here decides anything: `KioskRoot.render(view)` rebuilds what the view says, and each button
calls one presenter method. Sizes are for a touchscreen read at arm's length by an elderly visitor:
the smallest text is 30 px, a tap target at least 110 px high; the large-type mode (one tap, every
screen) multiplies every size and switches to yellow on black.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from kivy.clock import Clock
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from kiosk import heap
from kiosk.presenter import PRIORITY_CATEGORIES, KioskPresenter, KioskView, Tile
from kiosk.texts import text
from screens.kivy_setup import FONT, paint  # FONT: registered by the app (the CJK font)

KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
COLLECT_AFTER = 1.0  # seconds: the collection put off while a ticket prints
BOOKING_ROWS = ("1234567890", "ABCDEFGHJK", "LMNPQRSTUV", "WXYZ-")


@dataclass(frozen=True)
class Theme:
    scale: float
    background: tuple[float, float, float, float]
    text: tuple[float, float, float, float]
    tile: tuple[float, float, float, float]
    tile_text: tuple[float, float, float, float]
    tile_off: tuple[float, float, float, float]
    accent: tuple[float, float, float, float]
    alert: tuple[float, float, float, float]

    def px(self, size: float) -> float:
        return size * self.scale


NORMAL = Theme(
    scale=1.0,
    background=(0.05, 0.16, 0.31, 1),  # deep government blue
    text=(1, 1, 1, 1),
    tile=(0.97, 0.97, 0.95, 1),
    tile_text=(0.05, 0.1, 0.2, 1),
    tile_off=(0.55, 0.58, 0.62, 1),
    accent=(0.82, 0.11, 0.13, 1),  # the red of the hall's signage
    alert=(0.85, 0.45, 0.0, 1),
)
LARGE = Theme(
    scale=1.35,
    background=(0, 0, 0, 1),
    text=(1, 0.92, 0.0, 1),
    tile=(1, 0.92, 0.0, 1),
    tile_text=(0, 0, 0, 1),
    tile_off=(0.45, 0.45, 0.45, 1),
    accent=(1, 1, 1, 1),
    alert=(1, 0.35, 0.0, 1),
)


def collect() -> None:
    """A full collection, then the C heap's free pages handed back: the textures of a screen are
    large blocks amid small ones, and glibc keeps what they freed (~50 MB over a few tickets)."""
    gc.collect()
    heap.trim()


def _tile_text(tile: Tile, theme: Theme) -> str:
    return (
        f"[b]{tile.name}[/b]\n[size={int(theme.px(32))}]{tile.waiting}   "
        f"{tile.wait or tile.state}[/size]"
    )


def _shape(view: KioskView) -> KioskView:
    """The view with its tiles' figures left out: what decides which widgets there are."""
    return replace(
        view,
        tiles=tuple(replace(t, waiting="", wait="", state="", can_issue=True) for t in view.tiles),
    )


class KioskRoot(BoxLayout):  # type: ignore[misc]
    """The whole screen. `render` is called by the app whenever the view changed."""

    def __init__(self, presenter: KioskPresenter, portrait: bool, **kwargs: object) -> None:
        super().__init__(orientation="vertical", **kwargs)
        self.presenter = presenter
        self.portrait = portrait
        self.on_change: Callable[[], None] = lambda: None  # the app re-renders after a tap
        self.shown: KioskView | None = None
        self.tile_buttons: dict[str, Button] = {}
        # A Kivy widget is a cycle of itself and its bindings (a label alone: ~300 objects), so a
        # screen replaced waits for a full collection, its textures with it: at the collector's own
        # pace screens piled up by the dozen (+300 MB over 40 tickets). So each new screen
        # collects the one it replaced, but while a ticket is issued and printed (the client's
        # thread prints the moment the answer comes) the collection waits a second.
        self._collect_later = Clock.create_trigger(lambda _dt: collect(), COLLECT_AFTER)

    # -- building blocks
    def _label(
        self,
        words: str,
        size: float,
        theme: Theme,
        color: tuple[float, ...] | None = None,
        **kw: object,
    ) -> Label:
        label = Label(
            text=words,
            font_name=FONT,
            font_size=theme.px(size),
            color=color or theme.text,
            halign=str(kw.pop("halign", "center")),
            valign="middle",
            **kw,
        )
        # Wrapped to the width only: the texture is as tall as the text, drawn centred in the
        # label (Kivy's default), not the whole label's height of mostly empty pixels.
        label.bind(size=lambda w, s: setattr(w, "text_size", (s[0], None)))
        return label

    def _button(
        self,
        words: str,
        size: float,
        theme: Theme,
        action: Callable[[], None],
        fill: tuple[float, float, float, float] | None = None,
        color: tuple[float, float, float, float] | None = None,
        **kw: object,
    ) -> Button:
        button = Button(
            text=words,
            font_name=FONT,
            font_size=theme.px(size),
            background_normal="",
            background_color=fill or theme.accent,
            color=color or (theme.tile_text if theme is LARGE else (1, 1, 1, 1)),
            halign="center",
            valign="middle",
            **kw,
        )
        button.bind(size=lambda w, s: setattr(w, "text_size", (s[0] - 16, None)))  # as a label's

        def pressed(_: Button) -> None:
            action()
            self.on_change()

        button.bind(on_release=pressed)
        return button

    # -- the screen
    def render(self, view: KioskView) -> None:
        if view == self.shown:
            return
        theme = LARGE if view.large else NORMAL
        if self.shown is not None and _shape(view) == _shape(self.shown):
            # Only the figures on the tiles moved (queues arrive every second): change their
            # text in place. Rebuilding would drop a touch that lands before the new layout.
            for tile in view.tiles:
                button = self.tile_buttons.get(tile.code)
                if button is not None:
                    button.text = _tile_text(tile, theme)
                    button.background_color = theme.tile if tile.can_issue else theme.tile_off
            self.shown = view
            return
        self.shown = view
        self.tile_buttons = {}
        self.clear_widgets()
        self.canvas.before.clear()
        paint(self, theme.background)
        self.add_widget(self._header(view, theme))
        notice = view.message or view.blocked
        if notice:
            banner = self._label(notice, 34, theme, color=(1, 1, 1, 1), size_hint_y=None)
            banner.height = theme.px(120)
            paint(banner, theme.alert)
            self.add_widget(banner)
        body = {
            "home": self._home,
            "department": self._services,
            "search": self._search,
            "priority": self._priority,
            "booking": self._booking,
            "issuing": self._issuing,
            "ticket": self._ticket,
        }[view.screen](view, theme)
        self.add_widget(body)
        self.add_widget(self._footer(view, theme))
        if view.screen in ("issuing", "ticket"):
            self._collect_later()  # the ticket is being printed: not now
        else:
            self._collect_later.cancel()
            collect()

    def _header(self, view: KioskView, theme: Theme) -> Widget:
        p = self.presenter
        bar = BoxLayout(size_hint_y=None, height=theme.px(130), padding=12, spacing=12)
        bar.add_widget(
            self._label(view.title, 40, theme, size_hint_x=2.4, halign="left", bold=True)
        )
        large_key = "large_off" if view.large else "large_on"
        bar.add_widget(self._button(text(large_key, view.language), 30, theme, p.toggle_large))
        bar.add_widget(self._button(text("language", view.language), 30, theme, p.toggle_language))
        bar.add_widget(self._button(text("help", view.language), 30, theme, p.tap_help))
        return bar

    def _prompt(self, words: str, theme: Theme) -> Label:
        prompt = self._label(words, 50, theme, size_hint_y=None, bold=True)
        prompt.height = theme.px(110)
        return prompt

    def _tiles(
        self, tiles: tuple[Tile, ...], theme: Theme, action: Callable[[str], None], cols: int
    ) -> Widget:
        grid = GridLayout(cols=cols, spacing=18, padding=18, size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        for tile in tiles:
            button = self._button(
                _tile_text(tile, theme),
                46,
                theme,
                partial(action, tile.code),
                fill=theme.tile if tile.can_issue else theme.tile_off,
                color=theme.tile_text,
                size_hint_y=None,
                height=theme.px(220 if self.portrait else 170),
                markup=True,
            )
            grid.add_widget(button)
            self.tile_buttons[tile.code] = button
        scroll = ScrollView(do_scroll_x=False, bar_width=14)
        scroll.add_widget(grid)
        return scroll

    def _columns(self, view: KioskView) -> int:
        if self.portrait:
            return 1 if view.large else 2
        return 2 if view.large else 4

    def _home(self, view: KioskView, theme: Theme) -> Widget:
        box = BoxLayout(orientation="vertical")
        box.add_widget(self._prompt(view.prompt, theme))
        box.add_widget(
            self._tiles(view.tiles, theme, self.presenter.tap_department, self._columns(view))
        )
        return box

    def _services(self, view: KioskView, theme: Theme) -> Widget:
        box = BoxLayout(orientation="vertical")
        box.add_widget(self._prompt(view.prompt, theme))
        cols = 1 if self.portrait or view.large else 2
        box.add_widget(self._tiles(view.tiles, theme, self.presenter.tap_service, cols))
        return box

    def _search(self, view: KioskView, theme: Theme) -> Widget:
        """Portrait: what was typed, the results, the keyboard below. Landscape: the results on the
        left and the keyboard on the right, so both stay whole in large type."""
        p = self.presenter
        typed = self._label(view.search_text or "_", 60, theme, size_hint_y=None, bold=True)
        typed.height = theme.px(100)
        keyboard = self._keyboard(KEYBOARD_ROWS, theme, p.type_search, p.backspace, view.language)
        results = BoxLayout(orientation="vertical")
        results.add_widget(self._prompt(view.prompt, theme))
        results.add_widget(typed)
        results.add_widget(self._tiles(view.tiles, theme, p.tap_service, 1))
        if self.portrait:
            results.add_widget(keyboard)
            return results
        side = BoxLayout(spacing=12)
        side.add_widget(results)
        keyboard.size_hint_y = 1
        side.add_widget(keyboard)
        return side

    def _keyboard(
        self,
        rows: tuple[str, ...],
        theme: Theme,
        key: Callable[[str], None],
        erase: Callable[[], None],
        language: str,
    ) -> Widget:
        board = BoxLayout(orientation="vertical", size_hint_y=None, spacing=8, padding=8)
        board.height = (
            theme.px(120) * (len(rows) + 1) if self.portrait else theme.px(95) * (len(rows) + 1)
        )
        for row in rows:
            line = BoxLayout(spacing=8)
            for char in row:
                line.add_widget(self._button(char.upper(), 40, theme, partial(key, char)))
            board.add_widget(line)
        last = BoxLayout(spacing=8)
        last.add_widget(self._button(text("erase", language), 40, theme, erase))
        board.add_widget(last)
        return board

    def _priority(self, view: KioskView, theme: Theme) -> Widget:
        p = self.presenter
        box = BoxLayout(orientation="vertical", spacing=20, padding=30)
        box.add_widget(self._prompt(view.prompt, theme))
        box.add_widget(
            self._button(
                text("priority_none", view.language), 46, theme, lambda: p.choose_priority(None)
            )
        )
        for category in PRIORITY_CATEGORIES:
            box.add_widget(
                self._button(
                    text(f"priority_{category}", view.language),
                    46,
                    theme,
                    partial(p.choose_priority, category),
                    fill=theme.tile,
                    color=theme.tile_text,
                )
            )
        return box

    def _booking(self, view: KioskView, theme: Theme) -> Widget:
        p = self.presenter
        entry = BoxLayout(orientation="vertical", spacing=12)
        entry.add_widget(self._prompt(view.prompt, theme))
        typed = self._label(view.search_text or "_", 80, theme, size_hint_y=None, bold=True)
        typed.height = theme.px(140)
        entry.add_widget(typed)
        ok = self._button(text("ok", view.language), 50, theme, p.submit_booking, size_hint_y=None)
        ok.height = theme.px(140)
        keypad = self._keyboard(BOOKING_ROWS, theme, p.type_booking, p.clear_booking, view.language)
        if self.portrait:
            entry.add_widget(Widget())
            entry.add_widget(keypad)
            entry.add_widget(ok)
            return entry
        entry.add_widget(Widget())
        entry.add_widget(ok)
        side = BoxLayout(spacing=12)
        side.add_widget(entry)
        keypad.size_hint_y = 1
        side.add_widget(keypad)
        return side

    def _issuing(self, view: KioskView, theme: Theme) -> Widget:
        return self._label(view.prompt, 64, theme, bold=True)

    def _ticket(self, view: KioskView, theme: Theme) -> Widget:
        ticket = view.ticket
        box = BoxLayout(orientation="vertical", padding=30, spacing=10)
        if ticket is None:
            return box
        box.add_widget(self._label(view.prompt, 50, theme))
        box.add_widget(self._label(ticket.number, 220, theme, size_hint_y=2.2, bold=True))
        box.add_widget(self._label(ticket.service, 50, theme))
        box.add_widget(self._label(ticket.windows, 54, theme, bold=True))
        box.add_widget(self._label(f"{ticket.ahead}    {ticket.wait}", 46, theme))
        last = text("print_failed" if ticket.print_failed else "ticket_take", view.language)
        color = theme.alert if ticket.print_failed else theme.text
        box.add_widget(self._label(last, 40, theme, color=color))
        return box

    def _footer(self, view: KioskView, theme: Theme) -> Widget:
        p = self.presenter
        bar = BoxLayout(size_hint_y=None, height=theme.px(140), padding=12, spacing=12)
        lang = view.language
        if view.screen == "home":
            bar.add_widget(self._button(text("search", lang), 40, theme, p.open_search))
            bar.add_widget(self._button(text("booking", lang), 40, theme, p.tap_booking))
            if view.pages > 1:
                bar.add_widget(
                    self._button(text("prev_page", lang), 36, theme, lambda: p.next_page(-1))
                )
                bar.add_widget(self._label(f"{view.page + 1} / {view.pages}", 40, theme))
                bar.add_widget(
                    self._button(text("next_page", lang), 36, theme, lambda: p.next_page(1))
                )
        elif view.screen == "ticket":
            bar.add_widget(self._button(text("home", lang), 40, theme, p.home))
        elif view.screen != "issuing":
            bar.add_widget(self._button(text("back", lang), 40, theme, p.back))
            bar.add_widget(self._button(text("home", lang), 40, theme, p.home))
        return bar
