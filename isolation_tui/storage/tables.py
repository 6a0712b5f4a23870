"""The names of the tables a database holds, in one place for every module that
reads or writes them."""

POINTS, STAYS, DISCHARGES, INCIDENTS, AUDIT = "points", "stays", "discharges", "incidents", "audit"
CHECKS, TESTS = "checks", "tests"
HANDOVERS, SETTINGS = "handovers", "settings"
STAFF, DUTY = "staff", "duty"
SUPPLIES, SUPPLY_ITEMS = "supplies", "supply_items"
