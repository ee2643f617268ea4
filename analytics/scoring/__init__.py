"""Scoring (SPEC §4, §5): the rubric as data, scores, imbalance, robustness, trends, alerts, the views the pages
show, and the results kept per data version. Imports accounts, store and base.
"""
