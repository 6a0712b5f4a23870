"""The headless commands: demo data, reports, CSV import/export, checks. No Textual."""
