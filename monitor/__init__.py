"""`hallq monitor`: the monitoring room's view of the hall (issue 19)."""
