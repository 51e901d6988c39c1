"""Spoken calls and kiosk guidance, offline: espeak-ng, or a hall's own recorded clips joined in order.

`voice.manifest` reads a language's manifest (its words, clips and phrase templates), `voice.words`
turns a ticket number and a window number into words, `voice.clips` and `voice.espeak` render them,
`voice.announcer` is the `hallq announcer` device. Nothing here imports the hall's engine.
"""
