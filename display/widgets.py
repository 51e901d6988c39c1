"""Thin Kivy widgets of the screens: coloured panels, labels that fit their box, a scrolling ticker.
They hold no logic; the presenters say what to show."""

from __future__ import annotations

from typing import Any

from kivy.graphics import Color, Rectangle
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.stencilview import StencilView

# Colours: light text on a dark blue ground reads from across a hall, and for weak eyes.
BACKGROUND = (0.04, 0.09, 0.2, 1)
PANEL = (0.08, 0.16, 0.32, 1)
HEADER = (0.02, 0.05, 0.12, 1)
TEXT = (1, 1, 1, 1)
NUMBER = (1, 0.84, 0.2, 1)  # amber: the ticket numbers
DIM = (0.72, 0.78, 0.88, 1)
FLASH = (0.75, 0.08, 0.08, 1)
PAUSED = (0.55, 0.3, 0.05, 1)
CLOSED = (0.22, 0.24, 0.3, 1)
STALE = (0.85, 0.1, 0.1, 1)


class Panel(BoxLayout):  # type: ignore[misc]
    """A BoxLayout with a background colour."""

    def __init__(self, color: tuple[float, ...] | None = PANEL, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # None: no background of its own (the window's clear colour shows; nothing to blend).
        with self.canvas.before:
            self._color = Color(*(color or (0, 0, 0, 0)))
            self._rect = Rectangle(pos=self.pos, size=self.size if color else (0, 0))
        self._painted = color is not None
        self.bind(pos=self._sync, size=self._sync)

    def _sync(self, *_: Any) -> None:
        if self._painted:
            self._rect.pos, self._rect.size = self.pos, self.size

    def set_color(self, color: tuple[float, ...]) -> None:
        if tuple(self._color.rgba) != tuple(color):
            self._color.rgba = color


def fit_label(
    text: str = "",
    font: float = 30,
    color: tuple[float, ...] = TEXT,
    halign: str = "center",
    bold: bool = False,
    **kwargs: Any,
) -> Label:
    """A label whose text is laid out inside its own box's width (aligned, wrapped if it must be,
    and shortened with … rather than spilling over its neighbours), centred in its height."""
    label = Label(
        text=text,
        font_size=font,
        color=color,
        halign=halign,
        valign="middle",
        bold=bold,
        shorten=True,
        shorten_from="right",
        **kwargs,
    )
    # Only the width is bounded: the texture is as tall as the text (the label centres it in its
    # box), not the whole box: on a software renderer every blended pixel costs, every frame.
    label.bind(width=lambda widget, width: setattr(widget, "text_size", (width, None)))
    return label


def set_text(label: Label, text: str) -> None:
    if label.text != text:
        label.text = text


class Ticker(StencilView):  # type: ignore[misc]
    """The operator's notice, scrolling right to left; still when it fits."""

    SPEED = 120.0  # pixels a second: readable at a glance

    def __init__(self, font: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        with self.canvas.before:
            Color(*HEADER)
            self._rect = Rectangle(pos=self.pos, size=self.size)
        self.label = Label(text="", font_size=font, color=NUMBER, size_hint=(None, None))
        self.label.bind(texture_size=lambda w, s: setattr(w, "size", s))
        self.add_widget(self.label)
        self.offset = 0.0
        self.bind(pos=self._sync, size=self._sync)

    def _sync(self, *_: Any) -> None:
        self._rect.pos, self._rect.size = self.pos, self.size
        self.step(0)

    def set_text(self, text: str) -> None:
        if self.label.text != text:
            self.label.text = text
            self.offset = 0.0

    def step(self, dt: float) -> None:
        width = self.label.width
        y = self.y + (self.height - self.label.height) / 2
        if width <= self.width:
            self.label.pos = (self.x + (self.width - width) / 2, y)
            return
        self.offset = (self.offset + self.SPEED * dt) % (width + self.width)
        self.label.pos = (self.x + self.width - self.offset, y)
