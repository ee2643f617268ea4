"""Sheets: uploaded bytes -> raw sheets of cells, whatever the format, in a limited child process.

workbook.py reads xlsx/xls/ods (calamine) and csv/html; merges.py finds merged ranges with real parsers; package.py
vets zip packages; sandbox.py limits the reader; typedread.py and xlsxparts.py read big xlsx sheets faster.
Imports base and ingest.header only.
"""
