"""The executive churn dashboard: monthly fact tables refreshed by a job, read by one page.

models.py   the fact tables and the record of each refresh
refresh.py  the set-based SQL that rebuilds the facts from customers, events, surveys and cases
periods.py  the period filter (month, quarter, year, custom) and its previous period
figures.py  what the page shows, read from the facts only
"""
