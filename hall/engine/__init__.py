"""The pure engine: state, commands, events, handlers and the views built from them. No I/O, no clock: the time is a parameter."""
