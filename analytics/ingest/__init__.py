"""Ingest: the bytes of an uploaded spreadsheet -> typed records and every problem (SPEC §3.1, §3.2).

records.py drives it; header.py finds the header and the quarter; values.py parses whole columns; blank.py writes
the empty template; sheets/ reads any format into raw sheets. Imports only base (template, problems).
"""
