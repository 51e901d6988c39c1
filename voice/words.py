"""Ticket and window numbers as the words a hall says, each word the name of a clip.

Words are clip names of a manifest: digits "0"-"9", letters "A"-"Z", and for the Mandarin cardinal
reading "十", "百", "千" (zero is the clip "0", 零). A hall's style picks the reading:
- `digits`: one word per character: "A012" -> A 0 1 2 (A 零 一 二), window 15 -> 1 5 (一 五);
- `cardinal-zh`: the Mandarin cardinal number: window 15 -> 十 五, 105 -> 一 百 零 五; for a ticket,
  its letters one by one, then its digits as one number: "A012" -> A 十 二.
A language without a cardinal reader here (English in the shipped example) reads `digits`.
"""

from __future__ import annotations

from typing import Literal

NumberStyle = Literal["digits", "cardinal-zh"]
WindowStyle = Literal["digits", "cardinal-zh"]
DIGITS = [str(d) for d in range(10)]
LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
ZH_UNITS = ["千", "百", "十"]
MAX_CARDINAL = 9999


def cardinal_zh(n: int) -> list[str]:
    """1..9999 read as a Mandarin cardinal number: 10 十, 15 十五, 20 二十, 105 一百零五,
    110 一百一十, 1005 一千零五, 1050 一千零五十 (as clip words: digits and 十 百 千)."""
    if not 0 <= n <= MAX_CARDINAL:
        raise ValueError(f"{n}: a cardinal number is read from 0 to {MAX_CARDINAL}")
    if n == 0:
        return ["0"]
    places = [(n // 1000) % 10, (n // 100) % 10, (n // 10) % 10, n % 10]
    words: list[str] = []
    zero_pending = False
    for digit, unit in zip(places, [*ZH_UNITS, ""], strict=True):
        if digit == 0:
            zero_pending = bool(words)  # a gap inside the number is read once as 零
            continue
        if zero_pending:
            words.append("0")
            zero_pending = False
        if not (unit == "十" and digit == 1 and not words):  # 十五, not 一十五 (but 一百一十五)
            words.append(str(digit))
        if unit:
            words.append(unit)
    return words


def ticket_words(number: str, style: NumberStyle = "digits") -> list[str]:
    """A ticket number ("A012", "AB7") as words: letters one by one, then the digits by `style`."""
    text = number.strip().upper()
    if not text or not all(ch in DIGITS or ch in LETTERS for ch in text):
        raise ValueError(f"ticket number {number!r}: letters A-Z and digits only")
    letters = [ch for ch in text if ch in LETTERS]
    digits = text[len(letters) :]
    if text[: len(letters)] != "".join(letters) or not all(ch in DIGITS for ch in digits):
        raise ValueError(f"ticket number {number!r}: letters first, then digits")
    if style == "digits" or not digits:
        return letters + list(digits)
    value = int(digits)
    if value > MAX_CARDINAL:  # a number too long to read as one: digit by digit
        return letters + list(digits)
    return letters + cardinal_zh(value)


def window_words(no: int, style: WindowStyle = "cardinal-zh") -> list[str]:
    if no < 0:
        raise ValueError(f"window number {no}: must be positive")
    if style == "digits" or no > MAX_CARDINAL:
        return list(str(no))
    return cardinal_zh(no)
