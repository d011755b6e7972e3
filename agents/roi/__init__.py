"""Register of information (DORA Art. 28(3); Implementing Regulation (EU) 2024/2956).

Modules, in the order a run uses them:

* ``templates``: the 15 templates B_01.01-B_99.01, their OJ column codes, the EBA
  taxonomy's codes where they differ, keys and mandatory/conditional marks;
* ``codelists`` (+ ``data/``): ISO 3166, ISO 4217, ICT service types S01-S19, Annex I lists;
* ``identifiers``: LEI check digits (ISO 17442 / ISO 7064 MOD 97-10), EUID, types of code;
* ``loader``: CSV/XLSX files named by template code -> rows with spreadsheet row numbers;
* ``validate``: every problem located by template, row and column;
* ``analysis`` and ``provisions``: concentration (share, HHI), exit plans, Art. 30 checklist;
* ``export``: the xBRL-CSV report package for the EBA DORA 4.0 taxonomy;
* ``report``: HTML and Markdown report of a run.

The agent that puts them into a workflow is ``agents/third_party_risk.py``.
"""
