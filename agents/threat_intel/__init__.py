"""Threat intelligence (DORA Arts. 13(1), 45; CDR 2024/1772 Art. 10).

``models`` holds the normalised threats; ``stix`` reads STIX 2.1 bundles with the ``stix2``
library; ``csv_feed`` reads a CSV of indicators; ``matching`` matches indicators,
vulnerabilities and techniques against the ICT asset inventory; ``significance`` ranks
threats and decides whether one is a significant cyber threat (Art. 10, all conditions);
``report`` renders the watch report.
"""
