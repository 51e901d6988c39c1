"""The `bus` section of a hardware bridge in the hall config (its owner: hardware/led, hardware/keypad).

Pure data: the hall server validates it without importing pyserial. A bridge's `kind` ("led" or
"keypad") and the windows it acts for live in hall/config/schema.py `Bridge`; this section says how its bus
is wired: the port, the line settings, the protocol, and which address on the bus belongs to which
window. Example (TOML):

    [[bridges]]
    id = "led-1f"
    kind = "led"
    windows = ["w01", "w02"]
    [bridges.bus]
    port = "/dev/ttyUSB0"
    protocol = "gb-frame"
    flash_seconds = 5
    boards = [{ address = 1, window = "w01" }, { address = 2, window = "w02" }]
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

WindowId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
Address = Annotated[
    int, Field(ge=1, le=255)
]  # 0 is broadcast on both LED protocols: never a board's
ByteValue = Annotated[int, Field(ge=0, le=255)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BoardTemplates(_Strict):
    """What a board shows for each window state. Fields: {number} {window_no} {window_name}
    {window_id} {clerk} {reason}. An Alpha sign has no Chinese font: keep its templates ASCII."""

    call: str  # a ticket is called or served here: flashes `flash_seconds`, then steady
    open: str  # a clerk is in, no ticket
    paused: str
    closed: str  # the idle slogan


GB_TEMPLATES = BoardTemplates(
    call="请{number}号到{window_no}号窗口",
    open="{window_name} 欢迎您",
    paused="暂停服务",
    closed="欢迎光临",
)
ALPHA_TEMPLATES = BoardTemplates(
    call="{number} -> {window_no}",
    open="WINDOW {window_no}",
    paused="PAUSED",
    closed="WELCOME",
)


class GbFrameBytes(_Strict):
    """The bytes of the plain addressed frame (docs/hardware-serial.md): vendors differ in these."""

    head: ByteValue = 0xAA
    tail: ByteValue = 0x55
    show: ByteValue = 0x01  # command: show a text
    clear: ByteValue = 0x02  # command: blank the board
    steady: ByteValue = 0x00  # display modes
    flash: ByteValue = 0x01
    scroll: ByteValue = 0x02
    encoding: Literal["gb2312", "gbk", "gb18030"] = "gb2312"


class LedBoard(_Strict):
    address: Address
    window: WindowId


class Keypad(_Strict):
    address: Address
    window: WindowId


class BusConfig(_Strict):
    port: str = Field(min_length=1)  # a serial device, or a pseudo-terminal's link
    baudrate: int = Field(default=9600, ge=300, le=921600)
    bytesize: Literal[7, 8] | None = None  # None: the protocol's own (Alpha 7E1, the others 8N1)
    parity: Literal["N", "E", "O"] | None = None
    stopbits: Literal[1, 2] = 1
    reopen_seconds: float = Field(
        default=0.5, gt=0, le=0.5
    )  # a vanished port is retried this often
    # LED buses
    protocol: Literal["alpha", "gb-frame"] = "gb-frame"
    boards: list[LedBoard] = []
    flash_seconds: float = Field(default=5.0, ge=0, le=60)
    # A write-only bus cannot tell that a board was power-cycled: resend every board this often
    # (0: never).
    refresh_seconds: float = Field(default=60.0, ge=0)
    templates: BoardTemplates | None = None  # None: the protocol's defaults above
    gb_frame: GbFrameBytes = GbFrameBytes()
    alpha_type: str = Field(default="Z", pattern=r"^[!-~]$")  # the sign type code; Z: all types
    # caller keypad buses
    keypads: list[Keypad] = []
    display_width: int = Field(default=6, ge=3, le=16)  # digits on a keypad's display

    @model_validator(mode="after")
    def _unique_addresses(self) -> BusConfig:
        addresses = {
            "boards": [board.address for board in self.boards],
            "keypads": [keypad.address for keypad in self.keypads],
        }
        for name, items in addresses.items():
            seen: set[int] = set()
            for i, address in enumerate(items):
                if address in seen:
                    raise ValueError(
                        f"{name}[{i}].address: address {address} is used twice on this bus"
                    )
                seen.add(address)
        seen_windows: set[str] = set()
        for i, keypad in enumerate(self.keypads):
            if keypad.window in seen_windows:
                raise ValueError(
                    f"keypads[{i}].window: window {keypad.window!r} already has a keypad"
                )
            seen_windows.add(keypad.window)
        return self

    def board_templates(self) -> BoardTemplates:
        if self.templates is not None:
            return self.templates
        return ALPHA_TEMPLATES if self.protocol == "alpha" else GB_TEMPLATES

    def line(self) -> tuple[int, str, int]:
        """(bytesize, parity, stopbits): the config's, else the protocol's usual ones."""
        alpha = self.protocol == "alpha" and not self.keypads
        bytesize = self.bytesize or (7 if alpha else 8)
        parity = self.parity or ("E" if alpha else "N")
        return bytesize, parity, self.stopbits
