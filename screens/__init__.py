"""What every Kivy app of hallq shares (kiosk, terminal, evaluator; the display and the monitor may
join): Kivy's settings before its import, the hall's CJK font, the hop of network results onto the
main loop, a few widget helpers. No app logic: that lives in each app's presenter."""
