"""Meeting material for a quarter (SPEC §6 export): the numbers (meeting.py), wording, the deck, the 通报 and the
workbooks (exports.py). Imports charts and below.
"""
